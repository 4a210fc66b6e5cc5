"""The dashboard's cached figures and their invalidation: a per-tenant version number in the cache.

Cache keys are already scoped to the active tenant (tenantry.tenancy.cache), so bumping the version
here makes every user's cached figures of this tenant stale at once, without listing keys.
"""
from collections.abc import Callable
from typing import TypeVar

from django.conf import settings
from django.core.cache import cache

from tenantry.db.replica import Route, current_route

VERSION_KEY = "dashboard:version"
# The version handles project changes; the timeout bounds drift of time-based figures ("created in
# the last 30 days") and of data the version does not cover (an owner's email).
FIGURES_SECONDS = 300

T = TypeVar("T")


def version() -> int:
    return cache.get_or_set(VERSION_KEY, 1, timeout=None)


def projects_changed() -> None:
    try:
        cache.incr(VERSION_KEY)
    except ValueError:  # no version yet: nothing cached to invalidate
        cache.set(VERSION_KEY, 2, timeout=None)


def fresh_for(replayed: int | None, route: Route | None) -> bool:
    """May a reader on `route` be served figures computed on the replica at WAL position `replayed`
    (None: computed on the primary)? Not a reader who wrote after that position: the figures miss
    their write."""
    return replayed is None or route is None or route.pin is None or replayed >= route.pin


def cached(name: str, compute: Callable[[], T]) -> T:
    """compute() at most once per tenant, name and version.

    The version is read before computing: a change committed while computing bumps it, so the value
    stored here is filed under a version nobody asks for again, never served stale. Figures computed
    on the replica (tenantry.db.replica) may miss a write the replica has not replayed yet: they are
    kept only as long as the replica may lag, and not served to a reader whose write they miss.
    """
    key = f"figures:{name}:v{version()}"
    route = current_route()
    entry = cache.get(key)
    if entry is not None and fresh_for(entry[1], route):
        return entry[0]
    value = compute()
    on_replica = route is not None and route.reason == "replica"
    cache.set(key, (value, route.replayed if on_replica else None),
              settings.TENANTRY_REPLICA_MAX_LAG_SECONDS if on_replica else FIGURES_SECONDS)
    return value
