"""Operator configuration from TENANTRY_* environment variables, checked once at start.

A wrong value stops the operator with a message naming the variable and what it accepts, instead of
an exception in the first reconcile.
"""
import json
import os
from dataclasses import dataclass, field


def _fail(message: str):
    raise SystemExit(f"operator configuration: {message}")


def _seconds(environ, name: str, default: float) -> float:
    value = environ.get(name, "")
    if not value:
        return default
    try:
        seconds = float(value)
    except ValueError:
        _fail(f"{name}={value!r} must be a number of seconds")
    if seconds <= 0:
        _fail(f"{name}={value!r} must be more than zero")
    return seconds


@dataclass(frozen=True)
class OperatorConfig:
    base_domain: str = "localhost"
    url_scheme: str = "https"
    url_port: int | None = None
    # Routing: one Ingress per tenant, pointing at the web Service.
    ingress_class: str | None = None
    tls_secret: str | None = None
    ingress_annotations: dict[str, str] = field(default_factory=dict)
    web_service: str = "tenantry-web"
    web_service_port: int = 8000
    # Backups: a CronJob per tenant running the app image's backup command.
    image: str = "tenantry:latest"
    backup_dir: str = "/backups"
    backup_pvc: str | None = None
    # The backup-now annotation: "job" starts a Job from the tenant's CronJob (a cluster); "inline"
    # takes the backup in the operator's process (`make up`, which has no kubelet to run a Job).
    backup_now: str = "job"
    app_secret: str = "tenantry-app"
    # How often every Tenant is reconciled again, to find and repair drift.
    drift_interval_seconds: float = 300
    # Peering between replicas: the highest priority handles Tenants, the others stand by. Each
    # replica draws a random priority unless one is given (equal priorities would freeze them all).
    peering_priority: int | None = None
    peering_lifetime_seconds: int = 60
    # The validating admission webhook: off when no port is given. The chart provides the
    # certificate; `make up` makes one with its local CA.
    webhook_port: int | None = None
    webhook_addr: str = "0.0.0.0"
    webhook_host: str | None = None  # the name the API server calls (a Service DNS name in a cluster)
    webhook_cert: str | None = None
    webhook_key: str | None = None
    webhook_ca: str | None = None
    # The namespace this operator serves: its webhook leaves Tenants of other namespaces alone.
    watch_namespace: str | None = None
    # Fleet migrations: how often every schema is surveyed (and behind ones rolled out), on how many
    # connections at once, and how long a schema that failed waits before the operator tries it again.
    fleet_interval_seconds: float = 30
    fleet_configmap: str = "tenantry-migrations"  # the summary and its events; the chart names it after the release
    migration_parallel: int = 4
    migration_retry_seconds: float = 300
    # Prometheus metrics: off when no port is given.
    metrics_port: int | None = None
    metrics_addr: str = "0.0.0.0"

    @classmethod
    def from_env(cls, environ=os.environ) -> "OperatorConfig":
        def port(name: str, default: int | None) -> int | None:
            value = environ.get(name, "")
            if not value:
                return default
            if not value.isdigit() or not 0 < int(value) < 65536:
                _fail(f"{name}={value!r} must be a port number")
            return int(value)

        scheme = environ.get("TENANTRY_PUBLIC_SCHEME", "https")
        if scheme not in ("http", "https"):
            _fail(f"TENANTRY_PUBLIC_SCHEME={scheme!r} must be http or https")
        try:
            annotations = json.loads(environ.get("TENANTRY_INGRESS_ANNOTATIONS", "{}"))
        except json.JSONDecodeError as exc:
            _fail(f"TENANTRY_INGRESS_ANNOTATIONS is not JSON ({exc}); give an object of strings")
        if not isinstance(annotations, dict) or not all(isinstance(v, str) for v in annotations.values()):
            _fail("TENANTRY_INGRESS_ANNOTATIONS must be a JSON object of strings")
        backup_now = environ.get("TENANTRY_BACKUP_NOW", "job")
        if backup_now not in ("job", "inline"):
            _fail(f"TENANTRY_BACKUP_NOW={backup_now!r} must be job or inline")
        return cls(
            base_domain=environ.get("TENANTRY_BASE_DOMAIN", "localhost"), url_scheme=scheme,
            url_port=port("TENANTRY_PUBLIC_PORT", None),
            ingress_class=environ.get("TENANTRY_INGRESS_CLASS") or None,
            tls_secret=environ.get("TENANTRY_INGRESS_TLS_SECRET") or None, ingress_annotations=annotations,
            web_service=environ.get("TENANTRY_WEB_SERVICE", "tenantry-web"),
            web_service_port=port("TENANTRY_WEB_SERVICE_PORT", 8000),
            image=environ.get("TENANTRY_IMAGE", "tenantry:latest"),
            backup_dir=environ.get("TENANTRY_BACKUP_DIR", "/backups"),
            backup_pvc=environ.get("TENANTRY_BACKUP_PVC") or None, backup_now=backup_now,
            app_secret=environ.get("TENANTRY_APP_SECRET", "tenantry-app"),
            drift_interval_seconds=_seconds(environ, "TENANTRY_DRIFT_INTERVAL_SECONDS", 300),
            peering_priority=int(_seconds(environ, "TENANTRY_PEERING_PRIORITY", 0)) or None,
            peering_lifetime_seconds=int(_seconds(environ, "TENANTRY_PEERING_LIFETIME_SECONDS", 60)),
            webhook_port=port("TENANTRY_WEBHOOK_PORT", None),
            webhook_addr=environ.get("TENANTRY_WEBHOOK_ADDR", "0.0.0.0"),
            webhook_host=environ.get("TENANTRY_WEBHOOK_HOST") or None,
            webhook_cert=environ.get("TENANTRY_WEBHOOK_CERT") or None,
            webhook_key=environ.get("TENANTRY_WEBHOOK_KEY") or None,
            webhook_ca=environ.get("TENANTRY_WEBHOOK_CA") or None,
            watch_namespace=environ.get("TENANTRY_WATCH_NAMESPACE") or None,
            fleet_interval_seconds=_seconds(environ, "TENANTRY_FLEET_INTERVAL_SECONDS", 30),
            fleet_configmap=environ.get("TENANTRY_FLEET_CONFIGMAP") or "tenantry-migrations",
            migration_parallel=max(1, int(_seconds(environ, "TENANTRY_MIGRATION_PARALLEL", 4))),
            migration_retry_seconds=_seconds(environ, "TENANTRY_MIGRATION_RETRY_SECONDS", 300),
            metrics_port=port("TENANTRY_METRICS_PORT", None),
            metrics_addr=environ.get("TENANTRY_METRICS_ADDR", "0.0.0.0"),
        )

    def url_for(self, domain: str) -> str:
        port = f":{self.url_port}" if self.url_port else ""
        return f"{self.url_scheme}://{domain}{port}/"
