"""Writes on tenants: the provisioning service that the operator (and later the admin) calls.

Every function here is idempotent and safe to re-run after a crash at any line: rows are matched by
the owning Kubernetes resource, the schema is created with IF NOT EXISTS, and migrations resume
where they stopped.
"""
from dataclasses import dataclass

from django.conf import settings
from django.core.management import call_command
from django.db import connection, transaction

from tenantry.accounts.models import Membership
from tenantry.accounts.services import ensure_member
from tenantry.billing.models import Plan
from tenantry.billing.services import change_plan
from tenantry.tenancy import naming, routing
from tenantry.tenancy.claims import Conflict, conflicts, domain_taken
from tenantry.tenancy.clone import clone_schema
from tenantry.tenancy.fleet.target import deployed
from tenantry.tenancy.models import Domain, Tenant
from tenantry.tenancy.selectors import domain_owners, schema_owner


class ProvisioningConflict(Exception):
    """The spec asks for something another tenant owns, changes what cannot change or names a plan
    that does not exist; nothing was changed. `reason` is a CamelCase word for a status condition."""

    def __init__(self, message: str, reason: str):
        super().__init__(message)
        self.reason = reason

    @classmethod
    def of(cls, conflict: Conflict) -> "ProvisioningConflict":
        return cls(conflict.message, conflict.reason)


@dataclass(frozen=True)
class TenantSpec:
    resource: str  # "<namespace>/<name>" of the Tenant object
    schema: str
    display_name: str
    domains: tuple[str, ...]
    # A billing plan code: the tenant gets a subscription to it (a tenant-wide plan covers every
    # member). None leaves billing to each person (their own trial or plan).
    plan: str | None = "free"
    suspended: bool = False
    owner_email: str | None = None  # becomes the tenant's first owner
    backups_enabled: bool = True
    canary: bool = False  # spec.migrations.canary: migrated first in a fleet rollout

    def validated(self) -> "TenantSpec":
        naming.validate_schema(self.schema)
        if not self.domains:
            raise naming.InvalidName("a tenant needs at least one domain")
        for domain in self.domains:
            naming.validate_domain(domain)
        if len(set(self.domains)) != len(self.domains):
            raise naming.InvalidName(f"domains are listed twice: {sorted(self.domains)}")
        return self


SERVED = (Tenant.State.ACTIVE, Tenant.State.SUSPENDED)


def provision_tenant(spec: TenantSpec) -> Tenant:
    """Make the public rows and the schema match `spec`; return the tenant, active or suspended."""
    spec = spec.validated()
    plans = {plan.code: plan for plan in Plan.objects.filter(is_active=True)}
    tenant = _claim_rows(spec, offered_plans=list(plans))
    if tenant.state in SERVED and not schema_exists(tenant.schema_name):
        # A served tenant lost its data. Recreating the schema empty would hide that: a person must
        # restore it from a backup (or delete the Tenant).
        raise ProvisioningConflict(f"schema {tenant.schema_name!r} of this tenant is missing: restore it from a "
                                   "backup; it is never recreated empty", "SchemaMissing")
    # A served schema that lacks migrations waits for the fleet rollout (canaries first); one nobody is
    # served from yet is migrated here.
    ensure_schema(tenant.schema_name, migrate_existing=tenant.state not in SERVED)
    if spec.owner_email:
        ensure_member(spec.owner_email, tenant.id, Membership.Role.OWNER)
    if spec.plan:
        change_plan(tenant, plans[spec.plan])  # a no-op when already on it
    state = Tenant.State.SUSPENDED if spec.suspended else Tenant.State.ACTIVE
    if tenant.state != state:
        tenant.state = state
        tenant.save(update_fields=["state", "updated_at"])
        routing.invalidate()
    return tenant


def is_settled(spec: TenantSpec) -> bool:
    """Cheaply: do the rows and the schema still match `spec`? (Two queries.) The drift timer asks
    this first and runs the full, locking provision_tenant only when something moved."""
    state = Tenant.State.SUSPENDED if spec.suspended else Tenant.State.ACTIVE
    tenant = Tenant.objects.filter(resource=spec.resource, schema_name=spec.schema, state=state,
                                   display_name=spec.display_name, backups_enabled=spec.backups_enabled,
                                   migration_canary=spec.canary).first()
    if tenant is None or not schema_exists(spec.schema):
        return False
    return set(tenant.domains.values_list("domain", flat=True)) == set(spec.domains)


@transaction.atomic
def _claim_rows(spec: TenantSpec, offered_plans: list[str]) -> Tenant:
    """The tenant's public rows as `spec` asks, or a refusal in the admission webhook's words. Another
    tenant may claim a domain after the owners are read: each domain is checked again as it is written."""
    tenant = Tenant.objects.select_for_update().filter(resource=spec.resource).first()
    found = conflicts(spec, domain_owners=domain_owners(spec.domains), schema_owner=schema_owner(spec.schema),
                      current_schema=tenant.schema_name if tenant else None, offered_plans=offered_plans)
    if found:
        raise ProvisioningConflict.of(found[0])
    tenant = tenant or Tenant(resource=spec.resource, schema_name=spec.schema)
    # Host lookups cache the display name and the domains: any change of them invalidates the cache
    # (only a change: the drift timer runs this for every tenant, and must not keep caches cold).
    routed_changed = tenant.display_name != spec.display_name
    tenant.display_name, tenant.plan = spec.display_name, spec.plan or ""
    tenant.backups_enabled, tenant.migration_canary = spec.backups_enabled, spec.canary
    tenant.save()

    stale, _ = tenant.domains.exclude(domain__in=spec.domains).delete()
    routed_changed |= stale > 0
    for position, domain in enumerate(spec.domains):
        row, created = Domain.objects.get_or_create(domain=domain,
                                                    defaults={"tenant": tenant, "is_primary": position == 0})
        if row.tenant_id != tenant.id:  # claimed by another tenant since the check above
            raise ProvisioningConflict.of(domain_taken(domain, row.tenant.resource))
        routed_changed |= created
        if row.is_primary != (position == 0):
            row.is_primary = position == 0
            row.save(update_fields=["is_primary"])
    if routed_changed:
        transaction.on_commit(routing.invalidate)  # even if the schema step fails next
    return tenant


def ensure_schema(schema: str, migrate_existing: bool = True) -> str:
    """Make `schema` exist with every tenant migration applied; say how ("cloned", "migrated",
    "current", "behind"). A new schema is cloned from the template when the template is fully migrated
    (flat cost), otherwise created and migrated; an existing one resumes any pending migration,
    which is also how a crash half way through migrating is repaired. Without `migrate_existing`, an
    existing schema is left as it is ("behind" when it lacks migrations): the fleet rollout's job."""
    naming.validate_schema(schema)
    template = settings.TENANTRY_TEMPLATE_SCHEMA
    if not schema_exists(schema):
        if schema_exists(template) and not pending_migrations(template):
            with transaction.atomic():
                clone_schema(template, schema)
            return "cloned"
        _create_schema(schema)
    elif not pending_migrations(schema):
        return "current"
    elif not migrate_existing:
        return "behind"
    _migrate(schema)
    return "migrated"


def ensure_template() -> str:
    """Create or bring up to date the schema new tenants are cloned from (run at every deploy)."""
    template = settings.TENANTRY_TEMPLATE_SCHEMA
    if not schema_exists(template):
        _create_schema(template)
    elif not pending_migrations(template):
        return "current"
    _migrate(template)
    return "migrated"


def pending_migrations(schema: str) -> set[tuple[str, str]]:
    """Leaf migrations on disk that `schema` has not recorded (a tenant schema records every app's
    migrations, shared ones included, so the leaves say whether it is current)."""
    return frozenset(deployed().graph.leaf_nodes()) - recorded_migrations(schema)


def recorded_migrations(schema: str) -> set[tuple[str, str]]:
    """(app, name) of every migration `schema` has recorded; none when it has no migration table."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)", [f"{connection.ops.quote_name(schema)}.django_migrations"])
        if cursor.fetchone()[0] is None:
            return set()
        cursor.execute(f"SELECT app, name FROM {connection.ops.quote_name(schema)}.django_migrations")
        return set(cursor.fetchall())


def _create_schema(schema: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE SCHEMA IF NOT EXISTS {connection.ops.quote_name(schema)}")


def _migrate(schema: str) -> None:
    try:
        call_command("migrate_schemas", schema_name=schema, tenant=True, interactive=False, verbosity=0)
    finally:
        connection.set_schema_to_public()


def schema_exists(schema: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM information_schema.schemata WHERE schema_name = %s", [schema])
        return cursor.fetchone() is not None


def release_tenant(resource: str, drop_schema: bool) -> None:
    """The Tenant resource is gone: stop serving it, then drop or keep its data."""
    tenant = Tenant.objects.filter(resource=resource).first()
    if tenant is None:
        return
    with transaction.atomic():
        tenant.domains.all().delete()
        tenant.state = Tenant.State.RETAINED
        tenant.save(update_fields=["state", "updated_at"])
    routing.invalidate()
    if drop_schema:
        naming.validate_schema(tenant.schema_name)
        with connection.cursor() as cursor:
            cursor.execute(f"DROP SCHEMA IF EXISTS {connection.ops.quote_name(tenant.schema_name)} CASCADE")
        tenant.delete()


