"""The dashboard's cached figures, and when an entry may be served instead of computed again.

Each entry lives under one fixed key (scoped to the active tenant by tenantry.tenancy.cache) and
carries the version it was computed under (tenantry.core.versions), so a lookup reads the version and
the entry in one round trip, and an entry outdated by a write is still there to be judged:
- the home page's tenant-wide figures are served under the current tenant version, and also while at
  most TENANTRY_FIGURES_FRESH_SECONDS old to a reader whose own last write they include. Members
  write often; recomputing every member's figures at each write kept the cache cold. This way a
  colleague's change shows within seconds, and one's own at once: the writer's session holds the
  version their write produced (SEEN_KEY).
- a member's own project count ("mine") is exact: it is versioned per owner, bumped only by changes
  to that owner's projects (so a colleague deleting your project counts too).
- the analytics charts are served under the current tenant version only.

Figures computed on the replica (tenantry.db.replica) may miss a write it has not replayed yet: they
are kept only as long as the replica may lag, and not served to a reader whose write they miss.
"""
import time
from collections.abc import Callable, Collection
from typing import Any, NamedTuple, TypeVar

from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase, UpdateError
from django.core.cache import cache
from django.db import transaction

from tenantry.core import versions
from tenantry.dashboard.middleware import request_session
from tenantry.db.replica import Route, current_route

VERSION_KEY = "dashboard:version"
SEEN_KEY = "dashboard:seen"
HOME_KEY = "dashboard:home"
# The versions handle project changes; the timeout bounds drift of time-based figures ("created in
# the last 30 days") and of data the versions do not cover (an owner's email).
FIGURES_SECONDS = 300

T = TypeVar("T")


class Entry(NamedTuple):
    value: Any
    version: int  # read before computing: a write committed meanwhile bumps past it
    computed_at: float  # time.time() when computing began, comparable across processes
    replayed: int | None  # the replica's WAL position when computed there; None: on the primary


def _owner_version_key(owner_id: int) -> str:
    return f"dashboard:version:owner:{owner_id}"


def _mine_key(owner_id: int) -> str:
    return f"dashboard:mine:{owner_id}"


# --- Writing: invalidation and the writer's pin ---------------------------------------------------

def projects_changed(owner_ids: Collection[int]) -> None:
    """Once the write commits, outdate the figures of the tenant and of these owners, and pin the
    writer's session (if the write came with one) to the version that includes it. Bumping before the
    commit would let a reader file figures without the write under the new version."""
    session = request_session()
    transaction.on_commit(lambda: _bump(owner_ids, session))


def _bump(owner_ids: Collection[int], session: SessionBase | None) -> None:
    versions.bump(cache, VERSION_KEY)
    for owner_id in owner_ids:
        versions.bump(cache, _owner_version_key(owner_id))
    if session is not None and session.session_key is not None:  # API tokens come without one
        _pin(session, versions.current(cache, VERSION_KEY))


def _pin(session: SessionBase, version: int) -> None:
    """Save the session at once: the request's commit (and so this) comes after SessionMiddleware
    saved it."""
    session[SEEN_KEY] = version
    try:
        session.save()
    except UpdateError:  # logged out meanwhile: nobody left to pin
        pass


# --- Reading ----------------------------------------------------------------------------------------

def fresh_for(replayed: int | None, route: Route | None) -> bool:
    """May a reader on `route` be served figures computed on the replica at WAL position `replayed`
    (None: computed on the primary)? Not a reader who wrote after that position: the figures miss
    their write."""
    return replayed is None or route is None or route.pin is None or replayed >= route.pin


def home_figures(session: SessionBase, owner_id: int, tenant_figures: Callable[[], T],
                 own_count: Callable[[int], int]) -> tuple[T, int]:
    """The home page's tenant-wide figures and the reader's own project count, from one round trip
    when both are servable."""
    owner_version_key, mine_key = _owner_version_key(owner_id), _mine_key(owner_id)
    found = cache.get_many([VERSION_KEY, HOME_KEY, owner_version_key, mine_key])
    return (_served(found, HOME_KEY, VERSION_KEY, tenant_figures, _current_or_recent(session.get(SEEN_KEY, 0))),
            _served(found, mine_key, owner_version_key, lambda: own_count(owner_id), _current))


def cached(name: str, compute: Callable[[], T]) -> T:
    """compute() at most once per tenant, name and tenant version."""
    key = f"dashboard:figures:{name}"
    return _served(cache.get_many([VERSION_KEY, key]), key, VERSION_KEY, compute, _current)


def _current(entry: Entry, version: int) -> bool:
    return entry.version == version


def _current_or_recent(seen: int) -> Callable[[Entry, int], bool]:
    """Current, or recent enough and including the reader's own last write (version `seen`)."""
    def servable(entry: Entry, version: int) -> bool:
        recent = time.time() - entry.computed_at <= settings.TENANTRY_FIGURES_FRESH_SECONDS
        return entry.version == version or (recent and entry.version >= seen)
    return servable


def _served(found: dict, key: str, version_key: str, compute: Callable[[], T],
            servable: Callable[[Entry, int], bool]) -> T:
    """The entry at `key` among `found` if `servable` under the version now, else computed anew."""
    version = found.get(version_key)
    if version is None:
        version = versions.current(cache, version_key)
    entry = found.get(key)
    if entry is not None and fresh_for(entry.replayed, current_route()) and servable(entry, version):
        return entry.value
    return _compute(key, version, compute)


def _compute(key: str, version: int, compute: Callable[[], T]) -> T:
    route = current_route()
    on_replica = route is not None and route.reason == "replica"
    started = time.time()
    entry = Entry(compute(), version, started, route.replayed if on_replica else None)
    cache.set(key, entry, settings.TENANTRY_REPLICA_MAX_LAG_SECONDS if on_replica else FIGURES_SECONDS)
    return entry.value
