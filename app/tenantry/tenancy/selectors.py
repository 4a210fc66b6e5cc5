"""Reads on the tenant catalogue. The per-request host lookup lives in `routing`."""
from django.db.models import Count, F, FilteredRelation, Q

from tenantry.billing.models import Plan
from tenantry.tenancy.claims import conflicts
from tenantry.tenancy.models import Domain, Tenant


def tenant_overview_rows():
    """Every tenant with its primary domain and member count, for the staff overview (one query)."""
    return (Tenant.objects.exclude(schema_name="public")
            .annotate(primary_row=FilteredRelation("domains", condition=Q(domains__is_primary=True)),
                      members=Count("memberships", distinct=True))
            .annotate(primary_domain=F("primary_row__domain"))
            .order_by("display_name")
            .values("display_name", "schema_name", "plan", "state", "primary_domain", "members", "created_at"))


def claim_problems(spec) -> list[str]:
    """What in `spec` (a TenantSpec) another tenant already owns, or does not exist: the admission
    webhook's check, read-only; the provisioning service applies the same rules (`claims`) under locks.
    Not whether the schema differs from the tenant's row: the CRD's CEL rule refuses a change, and the
    reconcile loop a retained tenant applied again with another schema. Refusing that here would also
    refuse every later patch of the Tenant, the operator's removal of its finalizer included."""
    found = conflicts(spec, domain_owners=domain_owners(spec.domains), schema_owner=schema_owner(spec.schema),
                      current_schema=None, offered_plans=active_plan_codes())
    return [conflict.message for conflict in found]


def domain_owners(domains) -> dict[str, str]:
    """Each of `domains` that is served, with the resource of the tenant serving it."""
    return dict(Domain.objects.filter(domain__in=domains).values_list("domain", "tenant__resource"))


def schema_owner(schema: str) -> str | None:
    """The resource of the tenant whose schema this is, a retained one included."""
    return Tenant.objects.filter(schema_name=schema).values_list("resource", flat=True).first()


def active_plan_codes() -> list[str]:
    return list(Plan.objects.filter(is_active=True).values_list("code", flat=True))
