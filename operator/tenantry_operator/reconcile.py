"""One reconcile pass for a Tenant: each step idempotent, the outcome a status to write.

Kopf-free, so the handler in `main` stays a few lines and this module can be driven directly.
Steps run in the order of DESIGN.md section 4; this pass has the schema step, later ones (routing,
backup) add their own condition the same way.
"""
from dataclasses import dataclass, field

from django.db import close_old_connections

from tenantry.tenancy import naming
from tenantry.tenancy.services import ProvisioningConflict, provision_tenant
from tenantry_operator.conditions import is_true, set_condition
from tenantry_operator.config import OperatorConfig
from tenantry_operator.spec import tenant_spec


@dataclass
class Outcome:
    status: dict
    error: str | None = None
    permanent: bool = False  # the spec can never work as written: do not retry until it changes
    warnings: list[str] = field(default_factory=list)


def reconcile(namespace: str, name: str, spec: dict, generation: int, status: dict,
              config: OperatorConfig) -> Outcome:
    conditions = list(status.get("conditions") or [])

    def outcome(phase: str, error: str | None = None, permanent: bool = False, **extra) -> Outcome:
        ready = is_true(conditions, "SchemaReady") and error is None
        reason = "Reconciled" if ready else ("InvalidSpec" if permanent else "Provisioning")
        message = "tenant is served" if ready else (error or "provisioning")
        final = set_condition(conditions, "Ready", ready, reason, message, generation)
        return Outcome(status={"phase": phase, "observedGeneration": generation, "conditions": final, **extra},
                       error=error, permanent=permanent)

    try:
        wanted = tenant_spec(namespace, name, spec, config.base_domain)
    except naming.InvalidName as exc:
        conditions = set_condition(conditions, "SchemaReady", False, "InvalidSpec", str(exc), generation)
        return outcome("Failed", str(exc), permanent=True)

    close_old_connections()
    try:
        provision_tenant(wanted)
    except ProvisioningConflict as exc:
        conditions = set_condition(conditions, "SchemaReady", False, "Conflict", str(exc), generation)
        return outcome("Failed", str(exc), permanent=True)
    except Exception as exc:  # a database that is down or a failed migration: retried with backoff
        close_old_connections()
        message = f"{type(exc).__name__}: {exc}".strip()
        conditions = set_condition(conditions, "SchemaReady", False, "ProvisioningFailed", message, generation)
        return outcome("Provisioning", message)
    finally:
        close_old_connections()

    conditions = set_condition(conditions, "SchemaReady", True, "SchemaProvisioned",
                               f"schema {wanted.schema} is migrated", generation)
    return outcome("Suspended" if wanted.suspended else "Ready", schema=wanted.schema,
                   domains=list(wanted.domains), url=config.url_for(wanted.domains[0]))
