"""Per-tenant request counts and latency, with a cap on the number of `tenant` label values.

One series set per tenant is what an SRE wants for a drill-down, until ten thousand tenants make
Prometheus pay for ten thousand of them. The first TENANTRY_METRICS_TENANT_CAP tenants seen get their
own label value; every later one is counted under "__other__".

The cap holds across workers and pods because admission is decided in one Redis set per deployment
(membership test, size test and insert in one Lua script, so two workers cannot both take the last
place). Every process labels only tenants in that set, so each family has at most cap + 1 `tenant`
values per pod and fleet-wide, for as long as the set lives (it has no expiry; if Redis loses it, a
process may keep its earlier labels until it is recycled, so the bound during that time is 2 x cap + 1).
Each process remembers its decisions: Redis is asked once per tenant per worker lifetime, never on
the warm path. If Redis cannot answer, the request is counted under "__other__" and asked again later.
"""
import logging

from django.conf import settings
from django_redis import get_redis_connection
from prometheus_client import Counter, Histogram
from redis.exceptions import RedisError

OVERFLOW = "__other__"
# Few buckets: each is one series per admitted tenant. 0.25 s and 0.5 s are the latency SLO's.
BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, float("inf"))

REQUESTS = Counter("tenantry_tenant_requests_total", "Requests served for a tenant, by status class.",
                   ["tenant", "status_class"])
DURATION = Histogram("tenantry_tenant_request_duration_seconds",
                     "Time to serve a tenant's request, from routing to response.", ["tenant"], buckets=BUCKETS)

# KEYS[1] the set of admitted tenants, ARGV[1] the tenant, ARGV[2] the cap. 1 if admitted.
ADMIT_SCRIPT = """
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 then return 1 end
if redis.call('SCARD', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('SADD', KEYS[1], ARGV[1])
  return 1
end
return 0
"""

logger = logging.getLogger(__name__)


def status_class(status: int) -> str:
    return f"{status // 100}xx"


class LabelAdmission:
    """Which label value a tenant gets in this process; `admit` asks the deployment-wide set."""

    def __init__(self, admit):
        self._admit = admit
        self._labels: dict[str, str] = {}

    def label(self, tenant: str) -> str:
        known = self._labels.get(tenant)
        if known is not None:
            return known
        try:
            admitted = self._admit(tenant)
        except RedisError:
            logger.warning("could not ask Redis whether tenant %s gets its own metrics label", tenant)
            return OVERFLOW
        self._labels[tenant] = tenant if admitted else OVERFLOW
        return self._labels[tenant]


def redis_admit(tenant: str) -> bool:
    script = get_redis_connection("platform").register_script(ADMIT_SCRIPT)
    key = f"{settings.CACHE_PREFIX}:metrics:tenant-labels"
    return bool(script(keys=[key], args=[tenant, settings.TENANTRY_METRICS_TENANT_CAP]))


admission = LabelAdmission(redis_admit)


def observe(tenant: str, status: int, seconds: float) -> None:
    label = admission.label(tenant)
    REQUESTS.labels(tenant=label, status_class=status_class(status)).inc()
    DURATION.labels(tenant=label).observe(seconds)
