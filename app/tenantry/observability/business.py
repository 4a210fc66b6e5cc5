"""Business gauges (tenants by state, active subscriptions by plan), read from the public tables when
Prometheus scrapes.

They describe the platform, not a process, so they are read by the one process that serves /metrics
(gunicorn's master) instead of being kept by every worker, and never on a request. Several scrapers
(Prometheus HA pairs) in a few seconds share one read: `max_age_seconds`.
"""
import logging
import threading
import time
from collections.abc import Callable, Iterable

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import Count
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily, Metric

from tenantry.backups.selectors import backup_health
from tenantry.billing.models import Plan, Subscription
from tenantry.tenancy.models import Tenant

logger = logging.getLogger(__name__)


def tenant_counts() -> dict[str, int]:
    """Every state appears, with 0 when no tenant is in it: a dashboard shows 0 rather than no data."""
    counts = dict.fromkeys(Tenant.State.values, 0)
    rows = (Tenant.objects.exclude(schema_name="public").values_list("state")
            .annotate(n=Count("id")).order_by())
    counts.update(dict(rows))
    return counts


def active_subscription_counts() -> dict[str, int]:
    """Subscriptions in status `active` by plan code; every offered plan appears."""
    counts = dict.fromkeys(Plan.objects.filter(is_active=True).values_list("code", flat=True), 0)
    rows = (Subscription.objects.filter(status=Subscription.Status.ACTIVE).values_list("plan__code")
            .annotate(n=Count("id")).order_by())
    counts.update(dict(rows))
    return counts


def platform_families() -> list[Metric]:
    tenants = GaugeMetricFamily("tenantry_tenants", "Tenants in the public table, by state.", labels=["state"])
    for state, n in tenant_counts().items():
        tenants.add_metric([state], n)
    subscriptions = GaugeMetricFamily("tenantry_subscriptions_active", "Active subscriptions, by plan.",
                                      labels=["plan"])
    for plan, n in active_subscription_counts().items():
        subscriptions.add_metric([plan], n)
    return [tenants, subscriptions]


def backup_families() -> list[Metric]:
    overdue, failed = backup_health(timezone.now(), settings.TENANTRY_BACKUP_MAX_AGE_SECONDS)
    return [
        GaugeMetricFamily("tenantry_backups_overdue_tenants",
                          "Active tenants without a successful backup within TENANTRY_BACKUP_MAX_AGE_SECONDS.",
                          value=overdue),
        GaugeMetricFamily("tenantry_backup_runs_failed_last_day", "Backup runs that failed in the last 24 hours.",
                          value=failed),
    ]


# What a scrape reads, each a function returning metric families.
SOURCES: list[Callable[[], Iterable[Metric]]] = [platform_families, backup_families]


def read_families(sources: Iterable[Callable[[], Iterable[Metric]]]) -> list[Metric]:
    """One transaction (the pooled backend sets the public search_path in it), then the connection
    is closed: this runs in gunicorn's master between scrapes, where no request cycle closes it."""
    try:
        with transaction.atomic():
            return [family for source in sources for family in source()]
    except DatabaseError:
        logger.exception("could not read the business gauges; this scrape has none")
        return []
    finally:
        connection.close()


class BusinessCollector:
    def __init__(self, read: Callable[[], list[Metric]] = lambda: read_families(SOURCES),
                 max_age_seconds: float = 5.0, clock: Callable[[], float] = time.monotonic):
        self._read = read
        self._max_age = max_age_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._families: list[Metric] = []
        self._read_at: float | None = None

    def collect(self) -> list[Metric]:
        with self._lock:
            now = self._clock()
            if self._read_at is None or now - self._read_at >= self._max_age:
                self._families = self._read()
                self._read_at = now
            return self._families
