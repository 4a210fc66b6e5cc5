"""Version counters in the cache, for entries that are invalidated by bumping a number instead of
deleting keys.

A reader files what it computed under the version it read *before* computing, so a change committed
meanwhile bumps the version and the stale value is filed where nobody looks again: deleting keys
would race with such a reader. Entries are only ever looked up under the current version.

A counter that is missing (never set, or evicted by Redis under memory pressure) starts again at the
current time in milliseconds, never at a small constant: a counter that restarted at 1 would make
entries filed under an old 1 valid again. Bumps are +1, so a restarted counter is above every
version used before unless a key was bumped more than once per millisecond since the first start.
"""
import time

from django.core.cache import BaseCache


def _start() -> int:
    return time.time_ns() // 1_000_000


def current(cache: BaseCache, key: str) -> int:
    """The version under which entries for `key` are filed now."""
    value = cache.get(key)
    if value is None:
        start = _start()
        cache.add(key, start, timeout=None)  # add: of two starters, the first one wins
        value = cache.get(key)
        if value is None:  # evicted again at once: a start nobody filed under yet is still safe
            return start
    return value


def bump(cache: BaseCache, key: str) -> None:
    """Make every entry filed under the current version of `key` stale, in every process."""
    try:
        cache.incr(key)
    except ValueError:  # missing: whatever was filed, it was under a version below a new start
        cache.add(key, _start(), timeout=None)
