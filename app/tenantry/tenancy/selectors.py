"""Reads on the tenant catalogue. The per-request host lookup lives in `routing`."""
from django.db.models import Count, F, FilteredRelation, Q

from tenantry.tenancy.models import Tenant


def tenant_overview_rows():
    """Every tenant with its primary domain and member count, for the staff overview (one query)."""
    return (Tenant.objects.exclude(schema_name="public")
            .annotate(primary_row=FilteredRelation("domains", condition=Q(domains__is_primary=True)),
                      members=Count("memberships", distinct=True))
            .annotate(primary_domain=F("primary_row__domain"))
            .order_by("display_name")
            .values("display_name", "schema_name", "plan", "state", "primary_domain", "members", "created_at"))
