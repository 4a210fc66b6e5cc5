"""Invalidation of the dashboard's cached figures: a per-tenant version number in the cache.

Cache keys are already scoped to the active tenant (tenantry.tenancy.cache), so bumping the version
here makes every user's cached KPIs of this tenant stale at once, without listing keys.
"""
from django.core.cache import cache

VERSION_KEY = "dashboard:version"


def version() -> int:
    return cache.get_or_set(VERSION_KEY, 1, timeout=None)


def projects_changed() -> None:
    try:
        cache.incr(VERSION_KEY)
    except ValueError:  # no version yet: nothing cached to invalidate
        cache.set(VERSION_KEY, 2, timeout=None)
