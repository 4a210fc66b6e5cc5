"""The Kubernetes objects a Tenant owns, as pure functions returning dicts.

Unit-tested without a cluster; the reconcile loop applies them with server-side apply. Every child
carries an ownerReference to its Tenant, so kube-controller-manager's garbage collector removes it
with the Tenant, and the labels that let `kubectl get -l tenantry.dev/tenant=acme` find it.
"""
from tenantry_operator import GROUP, VERSION
from tenantry_operator.config import OperatorConfig

MANAGED_BY = "tenantry-operator"
# Children are named after their Tenant, and a CronJob's name may have at most 52 characters (its
# Jobs append 11): `tenant-<name>-backup` leaves 38 for the Tenant's name.
MAX_TENANT_NAME = 52 - len("tenant--backup")


def owner_reference(name: str, uid: str) -> dict:
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": "Tenant", "name": name, "uid": uid,
            "controller": True, "blockOwnerDeletion": True}


def child_name(tenant: str, kind_suffix: str = "") -> str:
    """`tenant-<name>` for the Ingress, `tenant-<name>-backup` for the CronJob."""
    return f"tenant-{tenant}-{kind_suffix}" if kind_suffix else f"tenant-{tenant}"


def _metadata(kind_suffix: str, tenant: str, namespace: str, uid: str, annotations: dict | None = None) -> dict:
    meta = {"name": child_name(tenant, kind_suffix),
            "namespace": namespace,
            "labels": {"app.kubernetes.io/managed-by": MANAGED_BY, "app.kubernetes.io/part-of": "tenantry",
                       f"{GROUP}/tenant": tenant},
            "ownerReferences": [owner_reference(tenant, uid)]}
    if annotations:
        meta["annotations"] = dict(annotations)
    return meta


def ingress(tenant: str, namespace: str, uid: str, domains: list[str], config: OperatorConfig) -> dict:
    """Routes every domain of the tenant to the web Service; the app picks the tenant by Host."""
    backend = {"service": {"name": config.web_service, "port": {"number": config.web_service_port}}}
    spec: dict = {"rules": [{"host": domain, "http": {"paths": [
        {"path": "/", "pathType": "Prefix", "backend": backend}]}} for domain in domains]}
    if config.ingress_class:
        spec["ingressClassName"] = config.ingress_class
    if config.tls_secret:
        spec["tls"] = [{"hosts": list(domains), "secretName": config.tls_secret}]
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": _metadata("", tenant, namespace, uid, config.ingress_annotations), "spec": spec}


def backup_command(schema: str, backup_dir: str, retention: int) -> list[str]:
    """The app's per-tenant backup command, as the CronJob runs it (and the tests run it directly)."""
    return ["python", "-m", "django", "backup_tenant", f"--schema={schema}", f"--dir={backup_dir}",
            f"--keep={retention}"]


def backup_cronjob(tenant: str, namespace: str, uid: str, schema: str, backup: dict, suspended: bool,
                   config: OperatorConfig) -> dict:
    """A nightly (by default) pg_dump of the tenant's schema; suspended with the tenant or when backups
    are disabled, never running twice at once."""
    volume_mounts, volumes = [], []
    if config.backup_pvc:
        volume_mounts = [{"name": "backups", "mountPath": config.backup_dir}]
        volumes = [{"name": "backups", "persistentVolumeClaim": {"claimName": config.backup_pvc}}]
    container = {
        "name": "backup", "image": config.image,
        "command": backup_command(schema, config.backup_dir, int(backup.get("retention", 7))),
        "env": [{"name": "TENANTRY_DB_POOLED", "value": "0"},
                {"name": "DJANGO_SETTINGS_MODULE", "value": "tenantry.settings"}],
        "envFrom": [{"secretRef": {"name": config.app_secret}}],
        "volumeMounts": volume_mounts,
        "securityContext": {"runAsNonRoot": True, "allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                            "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}},
    }
    return {
        "apiVersion": "batch/v1", "kind": "CronJob",
        "metadata": _metadata("backup", tenant, namespace, uid),
        "spec": {
            "schedule": backup.get("schedule", "0 3 * * *"),
            "suspend": suspended or not backup.get("enabled", True),
            "concurrencyPolicy": "Forbid",
            "successfulJobsHistoryLimit": 3, "failedJobsHistoryLimit": 3,
            # The label goes to every Job of the CronJob (kubectl create job --from too): the operator
            # records a finished one in the Tenant's status.lastBackup (backup_jobs).
            "jobTemplate": {"metadata": {"labels": {f"{GROUP}/tenant": tenant}},
                            "spec": {"backoffLimit": 2, "template": {
                "metadata": {"labels": {f"{GROUP}/tenant": tenant}},
                "spec": {"restartPolicy": "OnFailure", "containers": [container], "volumes": volumes}}}},
        },
    }
