"""One reconcile pass for a Tenant: each step idempotent, the outcome a status to write.

Kopf-free, so the handler in `main` stays a few lines. Steps run in the order of docs/architecture.md
("The reconcile loop") — schema and public rows, then routing, then backups — and each sets its own
condition; a later step runs only when the data it would expose exists. Ready is True only when every
step is.
"""
import json
from collections.abc import Callable
from dataclasses import dataclass

from django.db import close_old_connections
from kubernetes.client.exceptions import ApiException

from tenantry.tenancy import naming
from tenantry.tenancy.services import ProvisioningConflict, TenantSpec, is_settled, provision_tenant
from tenantry_operator import children, metrics, migration_status
from tenantry_operator.conditions import is_true, set_condition
from tenantry_operator.config import OperatorConfig
from tenantry_operator.spec import tenant_spec

STEPS = ("SchemaReady", "RoutingReady", "BackupReady")
UNPROCESSABLE = 422  # the API server's answer to an object that fails its validation


@dataclass
class Outcome:
    status: dict
    error: str | None = None
    permanent: bool = False  # the spec can never work as written: do not retry until it changes


@dataclass
class Resource:
    namespace: str
    name: str
    uid: str
    generation: int
    spec: dict
    status: dict


def reconcile(tenant: Resource, config: OperatorConfig, apply: Callable[[dict], dict],
              recheck: bool = False) -> Outcome:
    """`recheck` is the drift timer's pass: a tenant whose schema step already succeeded for this
    generation gets a cheap check first, and the full provisioning only if something moved."""
    conditions = list(tenant.status.get("conditions") or [])

    def mark(type_: str, ok: bool, reason: str, message: str) -> None:
        nonlocal conditions
        conditions = set_condition(conditions, type_, ok, reason, message, tenant.generation)

    def finish(phase: str, error: str | None = None, permanent: bool = False, **extra) -> Outcome:
        ready = error is None and all(is_true(conditions, step) for step in STEPS)
        mark("Ready", ready, "Reconciled" if ready else ("InvalidSpec" if permanent else "Reconciling"),
             "tenant is served" if ready else (error or "reconciling"))
        return Outcome(status={"phase": phase, "observedGeneration": tenant.generation, "conditions": conditions,
                               **extra}, error=error, permanent=permanent)

    def skip_later_steps(reason: str) -> None:
        for step in STEPS[1:]:
            mark(step, False, reason, "waits for the schema")

    # Migrated says what the fleet loop last found (status.migrations); it does not gate Ready: a
    # tenant behind during a rollout is still served, by code that works with its schema.
    migrated = migration_status.condition(tenant.status.get("migrations"))
    if migrated:
        mark("Migrated", *migrated)

    try:
        wanted = tenant_spec(tenant.namespace, tenant.name, tenant.spec, config.base_domain)
    except naming.InvalidName as exc:
        mark("SchemaReady", False, "InvalidSpec", str(exc))
        skip_later_steps("InvalidSpec")
        return finish("Failed", str(exc), permanent=True)

    settled = recheck and _schema_ready_now(conditions, tenant.generation)
    error = _provision(wanted, mark, settled)
    if error:
        skip_later_steps("SchemaNotReady")
        return finish("Failed" if error[1] else "Provisioning", error[0], permanent=error[1])

    refused: list[str] = []  # children the API server finds invalid: the spec can never work as written

    def apply_child(step: str, failed_reason: str, obj: dict) -> bool:
        try:
            apply(obj)
            return True
        except ApiException as exc:
            message = _api_error(exc)
            mark(step, False, failed_reason, message)
            if exc.status == UNPROCESSABLE:
                refused.append(message)
            return False

    if apply_child("RoutingReady", "IngressFailed",
                   children.ingress(tenant.name, tenant.namespace, tenant.uid, list(wanted.domains), config)):
        mark("RoutingReady", True, "IngressApplied", f"routes {', '.join(wanted.domains)}")
    backup = tenant.spec.get("backup") or {}
    if apply_child("BackupReady", "CronJobFailed",
                   children.backup_cronjob(tenant.name, tenant.namespace, tenant.uid, wanted.schema, backup,
                                           wanted.suspended, config)):
        enabled = backup.get("enabled", True)
        mark("BackupReady", True, "Scheduled" if enabled else "Disabled",
             f"backups at '{backup.get('schedule', '0 3 * * *')}'" if enabled else "backups are disabled")

    extra = {"schema": wanted.schema, "domains": list(wanted.domains), "url": config.url_for(wanted.domains[0])}
    if refused:
        return finish("Failed", "; ".join(refused), permanent=True, **extra)
    failed = [step for step in STEPS if not is_true(conditions, step)]
    if failed:
        return finish("Provisioning", f"not ready: {', '.join(failed)}", **extra)
    return finish("Suspended" if wanted.suspended else "Ready", **extra)


def _schema_ready_now(conditions: list[dict], generation: int) -> bool:
    return any(c.get("type") == "SchemaReady" and c.get("status") == "True"
               and c.get("observedGeneration") == generation for c in conditions)


def _provision(wanted: TenantSpec, mark, settled: bool) -> tuple[str, bool] | None:
    """Schema and public rows; returns (error, permanent) or None."""
    close_old_connections()
    try:
        if settled and is_settled(wanted):
            return None  # SchemaReady stays as it is
        with metrics.timed(metrics.PROVISIONING_SECONDS):
            provision_tenant(wanted)
    except ProvisioningConflict as exc:
        mark("SchemaReady", False, exc.reason, str(exc))
        return str(exc), True
    except naming.InvalidName as exc:  # checks that need the database, such as an unknown plan
        mark("SchemaReady", False, "InvalidSpec", str(exc))
        return str(exc), True
    except Exception as exc:  # a database that is down or a failed migration: retried with backoff
        message = f"{type(exc).__name__}: {exc}".strip()
        mark("SchemaReady", False, "ProvisioningFailed", message)
        return message, False
    finally:
        close_old_connections()
    mark("SchemaReady", True, "SchemaProvisioned", f"schema {wanted.schema} and its rows are in place")
    return None


def _api_error(exc: ApiException) -> str:
    """The API server's own message when it sent one: for a 422 it names the field and the value."""
    try:
        message = json.loads(exc.body or "{}").get("message")
    except (ValueError, AttributeError):
        message = None
    return f"Kubernetes API {exc.status}: {message or exc.reason}"
