"""Server-side apply of the Tenant's children through the kubernetes client.

Server-side apply makes every step idempotent and repairs drift in one call: whatever a person
changed in fields we own is put back, fields we do not own are left alone.
"""
import socket
from datetime import UTC, datetime

import kubernetes
from kubernetes.dynamic import DynamicClient

from tenantry_operator import GROUP, PLURAL, VERSION

FIELD_MANAGER = "tenantry-operator"


def load_configuration() -> None:
    try:
        kubernetes.config.load_incluster_config()
    except kubernetes.config.ConfigException:
        kubernetes.config.load_kube_config()


class Applier:
    def __init__(self) -> None:
        self.client = DynamicClient(kubernetes.client.ApiClient())

    def apply(self, obj: dict) -> dict:
        resource = self.client.resources.get(api_version=obj["apiVersion"], kind=obj["kind"])
        return self.client.server_side_apply(resource, body=obj, namespace=obj["metadata"]["namespace"],
                                             field_manager=FIELD_MANAGER, force_conflicts=True).to_dict()


class Backups:
    """The API calls of backups as Jobs (backup_jobs): read the tenant's CronJob, start a Job from it,
    read and patch the Tenant it belongs to."""

    def __init__(self) -> None:
        self.batch = kubernetes.client.BatchV1Api()
        self.custom = kubernetes.client.CustomObjectsApi()

    def cronjob(self, namespace: str, name: str) -> dict:
        return self.batch.api_client.sanitize_for_serialization(self.batch.read_namespaced_cron_job(name, namespace))

    def start(self, job: dict) -> None:
        """Create the Job; one that exists already (the same request, seen again) is left alone."""
        try:
            self.batch.create_namespaced_job(job["metadata"]["namespace"], job)
        except kubernetes.client.ApiException as exc:
            if exc.status != 409:
                raise

    def tenant(self, namespace: str, name: str) -> dict | None:
        """The Tenant, or None when it is gone."""
        try:
            return self.custom.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name)
        except kubernetes.client.ApiException as exc:
            if exc.status == 404:
                return None
            raise

    def record(self, namespace: str, name: str, last_backup: dict) -> None:
        self.custom.patch_namespaced_custom_object_status(GROUP, VERSION, namespace, PLURAL, name,
                                                          {"status": {"lastBackup": last_backup}})


class Tenants:
    """The fleet loop's API calls: list the Tenants (one call for the fleet) and patch one's status."""

    def __init__(self) -> None:
        self.custom = kubernetes.client.CustomObjectsApi()

    def list(self, namespace: str | None) -> list[dict]:
        if namespace:
            return self.custom.list_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL)["items"]
        return self.custom.list_cluster_custom_object(GROUP, VERSION, PLURAL)["items"]

    def patch_status(self, namespace: str, name: str, status: dict) -> None:
        try:
            self.custom.patch_namespaced_custom_object_status(GROUP, VERSION, namespace, PLURAL, name,
                                                              {"status": status})
        except kubernetes.client.ApiException as exc:
            if exc.status != 404:  # deleted since the list: nothing to show it on
                raise


def post_event(obj: dict, type_: str, reason: str, message: str) -> None:
    """An event on `obj` from outside Kopf's handlers (its own `kopf.event` needs a handler's context)."""
    meta = obj["metadata"]
    now = datetime.now(UTC)
    event = kubernetes.client.CoreV1Event(
        metadata=kubernetes.client.V1ObjectMeta(generate_name=f"{meta['name']}.", namespace=meta["namespace"]),
        involved_object=kubernetes.client.V1ObjectReference(
            api_version=obj["apiVersion"], kind=obj["kind"], name=meta["name"], namespace=meta["namespace"],
            uid=meta.get("uid"), resource_version=meta.get("resourceVersion")),
        type=type_, reason=reason, message=message[:1024], first_timestamp=now, last_timestamp=now, count=1,
        source=kubernetes.client.V1EventSource(component=FIELD_MANAGER), reporting_component=FIELD_MANAGER,
        reporting_instance=socket.gethostname())
    kubernetes.client.CoreV1Api().create_namespaced_event(meta["namespace"], event)
