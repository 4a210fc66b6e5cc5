"""Host -> tenant, on every request: process memory, then Redis, then PostgreSQL.

Invalidation is explicit and global: the provisioning service calls `invalidate()` whenever a
tenant's domains or state change, which bumps one generation number in Redis. Every entry, in a
worker's memory or in Redis, is tagged with the generation it was read under and is used only while
that generation is current. The warm path therefore costs one Redis GET and no SQL, and a suspended
tenant or a moved domain takes effect on the next request in every worker. (Tagging, rather than
deleting keys, also closes the race where a reader stores what it read just before an invalidation.)
"""
from dataclasses import dataclass

from django.core.cache import caches
from django.db import transaction

from tenantry.tenancy.models import Domain, Tenant

GENERATION_KEY = "tenantry:hosts:generation"
REDIS_SECONDS = 3600
LOCAL_MAX_ENTRIES = 10_000  # a scan of random host names cannot grow a worker without bound
_local: dict[str, tuple[int, "RoutedTenant | None"]] = {}


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


def _cache():
    """Platform-wide entries: the unscoped `platform` cache, not the tenant-scoped default."""
    return caches["platform"]


def tenant_for_host(host: str) -> RoutedTenant | None:
    """The tenant serving `host`, or None (unknown hosts are cached too)."""
    generation = _cache().get(GENERATION_KEY, 0)
    local = _local.get(host)
    if local is not None and local[0] == generation:
        return local[1]
    shared = _cache().get(f"tenantry:host:{host}")
    if shared is not None and shared[0] == generation:
        routed = shared[1]
    else:
        routed = _from_database(host)
        _cache().set(f"tenantry:host:{host}", (generation, routed), REDIS_SECONDS)
    if len(_local) >= LOCAL_MAX_ENTRIES:
        _local.clear()
    _local[host] = (generation, routed)
    return routed


@transaction.atomic  # sets search_path = public, whatever a pooled server session carries
def _from_database(host: str) -> RoutedTenant | None:
    domain = (Domain.objects.select_related("tenant")
              .filter(domain=host)
              .exclude(tenant__state__in=[Tenant.State.PROVISIONING, Tenant.State.RETAINED])
              .first())
    if domain is None:
        return None
    t = domain.tenant
    return RoutedTenant(id=t.id, schema_name=t.schema_name, display_name=t.display_name, state=t.state)


def invalidate() -> None:
    """Make every cached host lookup stale, in every process."""
    try:
        _cache().incr(GENERATION_KEY)
    except ValueError:  # never set: start above the implicit 0
        _cache().set(GENERATION_KEY, 1, timeout=None)
