"""Reads on the tenant catalogue. The per-request host lookup lives in `routing`."""
from django.db.models import Count, F, FilteredRelation, Q

from tenantry.billing.models import Plan
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
    webhook's check, read-only. The provisioning service enforces the same rules with locks."""
    problems = [f"domain {domain!r} is already used by tenant {resource}: choose another domain"
                for domain, resource in Domain.objects.filter(domain__in=spec.domains)
                .exclude(tenant__resource=spec.resource).values_list("domain", "tenant__resource")]
    owner = (Tenant.objects.filter(schema_name=spec.schema).exclude(resource=spec.resource)
             .values_list("resource", flat=True).first())
    if owner:
        problems.append(f"schema {spec.schema!r} is already used by tenant {owner}: choose another schema")
    if spec.plan and not Plan.objects.filter(code=spec.plan, is_active=True).exists():
        offered = ", ".join(Plan.objects.filter(is_active=True).values_list("code", flat=True))
        problems.append(f"unknown plan {spec.plan!r}: choose one of {offered}")
    return problems
