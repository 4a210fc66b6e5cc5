"""The validating admission webhook's decision, Kopf-free: the first line of defence.

The API server's schema and CEL rules check a Tenant on its own; this checks it against the others
(a domain or schema already taken, a plan that does not exist), so `kubectl apply` fails at once with
a message saying what to change. If the webhook is down, its failure policy lets the Tenant in and
the reconcile loop refuses it with the same rules (the second line). A webhook that cannot reach the
database does the same: refusing would also block the operator's own patches of every Tenant (its
finalizers and annotations pass through this webhook) until the database is back.
"""
import logging
from collections.abc import Callable

from django.db import DatabaseError, close_old_connections

from tenantry.tenancy import naming
from tenantry.tenancy.selectors import claim_problems
from tenantry.tenancy.services import TenantSpec
from tenantry_operator.config import OperatorConfig
from tenantry_operator.spec import tenant_spec

logger = logging.getLogger(__name__)


def problems(namespace: str, name: str, spec: dict, config: OperatorConfig,
             claims: Callable[[TenantSpec], list[str]] = claim_problems) -> list[str] | None:
    """What is wrong with the Tenant, or None when that could not be checked (no database). `claims`
    reads what other tenants own (injected for unit tests)."""
    try:
        wanted = tenant_spec(namespace, name, spec, config.base_domain)
    except naming.InvalidName as exc:
        return [str(exc)]
    close_old_connections()
    try:
        return claims(wanted)
    except DatabaseError as exc:
        logger.warning("admitting Tenant %s/%s unchecked: the database is unreachable (%s); the reconcile "
                       "loop checks it", namespace, name, exc)
        return None
    finally:
        close_old_connections()
