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
from tenantry_operator.phases import Phase
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


@dataclass(frozen=True)
class Services:
    """What a pass calls outside itself: server-side apply, and the provisioning service (its full,
    locking pass and its cheap "still settled?" check). Injected, so table-driven unit tests stand in."""
    apply: Callable[[dict], dict]
    provision: Callable[[TenantSpec], object] = provision_tenant
    settled: Callable[[TenantSpec], bool] = is_settled


class Conditions:
    """The Tenant's conditions as one pass sets them, for this generation."""

    def __init__(self, existing: list[dict], generation: int):
        self.items, self.generation = list(existing), generation

    def mark(self, type_: str, ok: bool, reason: str, message: str) -> None:
        self.items = set_condition(self.items, type_, ok, reason, message, self.generation)

    def true(self, type_: str) -> bool:
        return is_true(self.items, type_)

    def waiting(self, reason: str) -> None:
        """The steps after the schema: they wait for it."""
        for step in STEPS[1:]:
            self.mark(step, False, reason, "waits for the schema")


def reconcile(tenant: Resource, config: OperatorConfig, services: Services, recheck: bool = False) -> Outcome:
    """`recheck` is the drift timer's pass: a tenant whose schema step already succeeded for this
    generation gets a cheap check first, and the full provisioning only if something moved."""
    conditions = Conditions(tenant.status.get("conditions") or [], tenant.generation)
    # Migrated says what the fleet loop last found (status.migrations); it does not gate Ready: a
    # tenant behind during a rollout is still served, by code that works with its schema.
    migrated = migration_status.condition(tenant.status.get("migrations"))
    if migrated:
        conditions.mark("Migrated", *migrated)

    try:
        wanted = tenant_spec(tenant.namespace, tenant.name, tenant.spec, config.base_domain)
    except naming.InvalidName as exc:
        conditions.mark("SchemaReady", False, "InvalidSpec", str(exc))
        conditions.waiting("InvalidSpec")
        return _finish(tenant, conditions, Phase.FAILED, str(exc), permanent=True)

    settled = recheck and _schema_ready_now(conditions.items, tenant.generation)
    failure = _schema_step(wanted, conditions, services, settled)
    if failure:
        conditions.waiting("SchemaNotReady")
        message, permanent = failure
        return _finish(tenant, conditions, Phase.FAILED if permanent else Phase.PROVISIONING, message, permanent)

    refused = [message for message in (_routing_step(tenant, wanted, conditions, services, config),
                                       _backup_step(tenant, wanted, conditions, services, config)) if message]
    extra = {"schema": wanted.schema, "domains": list(wanted.domains), "url": config.url_for(wanted.domains[0])}
    if refused:
        return _finish(tenant, conditions, Phase.FAILED, "; ".join(refused), permanent=True, **extra)
    failed = [step for step in STEPS if not conditions.true(step)]
    if failed:
        return _finish(tenant, conditions, Phase.PROVISIONING, f"not ready: {', '.join(failed)}", **extra)
    return _finish(tenant, conditions, Phase.SUSPENDED if wanted.suspended else Phase.READY, **extra)


def _finish(tenant: Resource, conditions: Conditions, phase: Phase, error: str | None = None,
            permanent: bool = False, **extra) -> Outcome:
    """Ready is True only when every step is, and then the status to write."""
    ready = error is None and all(conditions.true(step) for step in STEPS)
    conditions.mark("Ready", ready, "Reconciled" if ready else ("InvalidSpec" if permanent else "Reconciling"),
                    "tenant is served" if ready else (error or "reconciling"))
    return Outcome(status={"phase": phase, "observedGeneration": tenant.generation, "conditions": conditions.items,
                           **extra}, error=error, permanent=permanent)


def _schema_ready_now(conditions: list[dict], generation: int) -> bool:
    return any(c.get("type") == "SchemaReady" and c.get("status") == "True"
               and c.get("observedGeneration") == generation for c in conditions)


def _schema_step(wanted: TenantSpec, conditions: Conditions, services: Services,
                 settled: bool) -> tuple[str, bool] | None:
    """Schema and public rows; returns (error, permanent) or None."""
    close_old_connections()
    try:
        if settled and services.settled(wanted):
            return None  # SchemaReady stays as it is
        with metrics.timed(metrics.PROVISIONING_SECONDS):
            services.provision(wanted)
    except ProvisioningConflict as exc:
        conditions.mark("SchemaReady", False, exc.reason, str(exc))
        return str(exc), True
    except naming.InvalidName as exc:  # the spec's own rules, which the service checks again
        conditions.mark("SchemaReady", False, "InvalidSpec", str(exc))
        return str(exc), True
    except Exception as exc:  # a database that is down or a failed migration: retried with backoff
        message = f"{type(exc).__name__}: {exc}".strip()
        conditions.mark("SchemaReady", False, "ProvisioningFailed", message)
        return message, False
    finally:
        close_old_connections()
    conditions.mark("SchemaReady", True, "SchemaProvisioned", f"schema {wanted.schema} and its rows are in place")
    return None


def _routing_step(tenant: Resource, wanted: TenantSpec, conditions: Conditions, services: Services,
                  config: OperatorConfig) -> str | None:
    """The Ingress for the tenant's domains; returns the API server's refusal, if it refused it."""
    ingress = children.ingress(tenant.name, tenant.namespace, tenant.uid, list(wanted.domains), config)
    applied, refused = _apply_child(services, conditions, "RoutingReady", "IngressFailed", ingress)
    if applied:
        conditions.mark("RoutingReady", True, "IngressApplied", f"routes {', '.join(wanted.domains)}")
    return refused


def _backup_step(tenant: Resource, wanted: TenantSpec, conditions: Conditions, services: Services,
                 config: OperatorConfig) -> str | None:
    """The backup CronJob, suspended with the tenant or when backups are off; returns a refusal."""
    backup = tenant.spec.get("backup") or {}
    cronjob = children.backup_cronjob(tenant.name, tenant.namespace, tenant.uid, wanted.schema, backup,
                                      wanted.suspended, config)
    applied, refused = _apply_child(services, conditions, "BackupReady", "CronJobFailed", cronjob)
    if applied and wanted.backups_enabled:
        conditions.mark("BackupReady", True, "Scheduled", f"backups at '{cronjob['spec']['schedule']}'")
    elif applied:
        conditions.mark("BackupReady", True, "Disabled", "backups are disabled")
    return refused


def _apply_child(services: Services, conditions: Conditions, step: str, failed_reason: str,
                 obj: dict) -> tuple[bool, str | None]:
    """(applied, the API server's message if it refused the object as invalid: the spec can never
    work as written). Any API error marks the step failed; other errors are retried."""
    try:
        services.apply(obj)
        return True, None
    except ApiException as exc:
        message = _api_error(exc)
        conditions.mark(step, False, failed_reason, message)
        return False, message if exc.status == UNPROCESSABLE else None


def _api_error(exc: ApiException) -> str:
    """The API server's own message when it sent one: for a 422 it names the field and the value."""
    try:
        message = json.loads(exc.body or "{}").get("message")
    except (ValueError, AttributeError):
        message = None
    return f"Kubernetes API {exc.status}: {message or exc.reason}"
