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
from collections.abc import Callable, Sequence
from typing import TypeVar

from django.core.cache import BaseCache, caches
from django.db import DEFAULT_DB_ALIAS, connections, transaction

T = TypeVar("T")


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


class _Bump:
    """A bump waiting for its transaction's commit. A class, not a closure, so that the transaction
    can tell from its pending on_commit callbacks which counters it has changed (pending())."""

    def __init__(self, cache_alias: str, key: str) -> None:
        self.cache_alias, self.key = cache_alias, key

    def __call__(self) -> None:
        bump(caches[self.cache_alias], self.key)


def bump_after_commit(cache_alias: str, key: str, using: str = DEFAULT_DB_ALIAS) -> None:
    """Bump `key` once the open transaction commits (at once outside one). Bumping before the commit
    would let a reader file what it read before the commit under the new version."""
    transaction.on_commit(_Bump(cache_alias, key), using=using)


def pending(cache_alias: str, key: str, using: str = DEFAULT_DB_ALIAS) -> bool:
    """Has the open transaction changed what `key` versions, and not rolled that back? Then what it
    reads belongs to it alone until the commit: it must read the database and file nothing, or a
    rollback would leave its rows cached under a version no commit will bump. Django drops the
    callbacks of a rolled-back savepoint, so these are exactly the changes that still count."""
    return any(isinstance(callback, _Bump) and (callback.cache_alias, callback.key) == (cache_alias, key)
               for _, callback, *_ in connections[using].run_on_commit)


def cached(cache_alias: str, counters: Sequence[str], key: str, load: Callable[[], T], timeout: int) -> T:
    """`load()`, through the entry at `key` if it was filed under the current versions of `counters`.

    The entry keeps those versions beside the value under one fixed key, so the versions and the
    entry come back in one round trip; an entry of older versions is simply loaded again and
    replaced. Inside a transaction that changed what a counter versions, the database is read and
    nothing filed (pending())."""
    if any(pending(cache_alias, counter) for counter in counters):
        return load()
    cache = caches[cache_alias]
    found = cache.get_many([*counters, key])
    stamp = tuple(found.get(counter) or current(cache, counter) for counter in counters)
    entry = found.get(key)
    if entry is not None and entry[0] == stamp:
        return entry[1]
    value = load()
    cache.set(key, (stamp, value), timeout)
    return value
