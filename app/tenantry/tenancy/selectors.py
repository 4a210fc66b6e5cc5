"""Reads on the tenant catalogue, with the host lookup cached because it runs on every request."""
from dataclasses import dataclass

from django.core.cache import caches
from django.db.models import Count, F, FilteredRelation, Q

from tenantry.tenancy.models import Domain, Tenant

HOST_CACHE_SECONDS = 300
_UNKNOWN = "unknown"


@dataclass(frozen=True)
class RoutedTenant:
    """What the request path needs of a tenant: small, picklable, and enough for set_tenant()."""
    id: int
    schema_name: str
    display_name: str
    state: str

    @property
    def suspended(self) -> bool:
        return self.state == Tenant.State.SUSPENDED

    def get_tenant_type(self) -> None:  # django-tenants asks for it on multi-type setups
        return None


def host_cache():
    """Host lookups are platform-wide, so they use the unscoped `platform` cache."""
    return caches["platform"]


def host_cache_key(host: str) -> str:
    return f"tenantry:host:{host}"


def tenant_for_host(host: str) -> RoutedTenant | None:
    """The tenant serving `host`, or None. Unknown hosts are cached too, so a scan of random host
    names costs one query per name, not one per request."""
    key = host_cache_key(host)
    cached = host_cache().get(key)
    if cached == _UNKNOWN:
        return None
    if cached is not None:
        return cached
    domain = (Domain.objects.select_related("tenant")
              .filter(domain=host)
              .exclude(tenant__state__in=[Tenant.State.PROVISIONING, Tenant.State.RETAINED])
              .first())
    routed = None
    if domain is not None:
        t = domain.tenant
        routed = RoutedTenant(id=t.id, schema_name=t.schema_name, display_name=t.display_name, state=t.state)
    host_cache().set(key, routed or _UNKNOWN, HOST_CACHE_SECONDS)
    return routed


def tenant_overview_rows():
    """Every tenant with its primary domain and member count, for the staff overview (one query)."""
    return (Tenant.objects.exclude(schema_name="public")
            .annotate(primary=FilteredRelation("domains", condition=Q(domains__is_primary=True)),
                      members=Count("memberships", distinct=True))
            .annotate(primary_domain=F("primary__domain"))
            .order_by("display_name")
            .values("display_name", "schema_name", "plan", "state", "primary_domain", "members", "created_at"))
