"""The dashboard's cached figures and their invalidation: a per-tenant version number in the cache.

Cache keys are already scoped to the active tenant (tenantry.tenancy.cache), so bumping the version
here makes every user's cached figures of this tenant stale at once, without listing keys.
"""
from collections.abc import Callable
from typing import TypeVar

from django.core.cache import cache

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


def cached(name: str, compute: Callable[[], T]) -> T:
    """compute() at most once per tenant, name and version.

    The version is read before computing: a change committed while computing bumps it, so the value
    stored here is filed under a version nobody asks for again, never served stale.
    """
    key = f"dashboard:{name}:v{version()}"
    value = cache.get(key)
    if value is None:
        value = compute()
        cache.set(key, value, FIGURES_SECONDS)
    return value
