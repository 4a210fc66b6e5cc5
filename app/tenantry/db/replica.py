"""Heavy read-only views on the streaming replica, without a user ever seeing the past.

A view marked `@replica_reads` runs its queries on the `replica` database (the router below sends
reads there while it runs), in a transaction of its own with the tenant's `SET LOCAL search_path`, as
on the primary. Everything else (writes, and every query of a request that is not marked) stays on
the primary.

Which database a marked view reads is decided per request by `route()`, from three facts:
- the replica's state, asked at most once a second per process: is it up, in recovery, how far has
  it replayed (an LSN) and how many seconds of commits is it behind;
- the lag threshold (TENANTRY_REPLICA_MAX_LAG_SECONDS): further behind, everyone reads the primary;
- the reader's pin: after a write, the primary's WAL position is filed for that user (for
  PIN_SECONDS); until the replica has replayed past it, that user reads the primary. So a user sees
  their own write at once, and everyone else data at most the threshold old.
A replica that is down, or fails during the view, is marked down for DOWN_SECONDS and the view runs
again on the primary: read-only views (GET, HEAD) can be run twice.
"""
import logging
import threading
import time
from contextvars import ContextVar
from dataclasses import dataclass
from functools import wraps

from django.conf import settings
from django.core.cache import caches
from django.db import DatabaseError, InterfaceError, OperationalError, connections, transaction
from prometheus_client import Counter

from tenantry.db import resilience

logger = logging.getLogger(__name__)

REPLICA = "replica"
PRIMARY = "default"
STATE_SECONDS = 1.0  # how long one answer about the replica's state is trusted
DOWN_SECONDS = 2.0  # how long a replica that failed is left alone
STATE_SQL = """SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()::text,
    CASE WHEN pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn() THEN 0
         ELSE COALESCE(EXTRACT(EPOCH FROM clock_timestamp() - pg_last_xact_replay_timestamp()), 0) END"""

READS = Counter("tenantry_replica_reads_total",
                "Requests of replica-capable views, by where they read: replica, or primary and why "
                "(pinned after the user's write, lagging, down, fallback after a failure, off).", ["route"])


def lsn(text: str | None) -> int | None:
    """PostgreSQL's "16/B374D848" as a comparable number."""
    if not text:
        return None
    high, low = text.split("/")
    return (int(high, 16) << 32) + int(low, 16)


@dataclass(frozen=True)
class State:
    up: bool
    replayed: int | None = None  # the WAL position replayed, as lsn() gives it
    lag_seconds: float = 0.0


@dataclass(frozen=True)
class Route:
    """Where this request's marked view reads, and what `cached` needs to keep figures honest."""
    reason: str  # "replica", or why the primary: "pinned", "lagging", "down", "off"
    pin: int | None = None  # the reader's last write, if still filed
    replayed: int | None = None  # how far the replica had replayed when decided

    @property
    def database(self) -> str:
        return REPLICA if self.reason == "replica" else PRIMARY


def decide(state: State | None, pin: int | None, max_lag_seconds: float) -> Route:
    """Pure: the route for a reader with `pin` (None: no recent write), given the replica's state
    (None: no replica configured)."""
    if state is None:
        return Route("off", pin)
    if not state.up or state.replayed is None:
        return Route("down", pin)
    if state.lag_seconds > max_lag_seconds:
        return Route("lagging", pin, state.replayed)
    if pin is not None and state.replayed < pin:
        return Route("pinned", pin, state.replayed)
    return Route("replica", pin, state.replayed)


def configured() -> bool:
    return REPLICA in settings.DATABASES


# --- The replica's state, per process ------------------------------------------------------------

_state_lock = threading.Lock()
_state: tuple[float, State] | None = None  # (good until, state)


def state() -> State | None:
    """The replica's state, at most STATE_SECONDS old (DOWN_SECONDS after a failure); None without a replica."""
    global _state
    if not configured():
        return None
    now = time.monotonic()
    known = _state
    if known is not None and known[0] > now:
        return known[1]
    with _state_lock:
        if _state is not known:  # another thread asked meanwhile
            return _state[1]
        fresh = _ask_replica()
        _state = (time.monotonic() + (STATE_SECONDS if fresh.up else DOWN_SECONDS), fresh)
        return fresh


def mark_down() -> None:
    global _state
    _state = (time.monotonic() + DOWN_SECONDS, State(up=False))


def _ask_replica() -> State:
    replica = connections[REPLICA]
    try:
        replica.set_schema_to_public()
        with transaction.atomic(using=REPLICA), replica.cursor() as cursor:
            cursor.execute(STATE_SQL)
            in_recovery, replayed, lag = cursor.fetchone()
    except DatabaseError as err:
        logger.warning("the read replica is unavailable (%s); reads go to the primary for %.0f s",
                       str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__, DOWN_SECONDS)
        replica.close()
        return State(up=False)
    # A replica out of recovery was promoted: it no longer follows this primary.
    return State(up=bool(in_recovery), replayed=lsn(replayed), lag_seconds=float(lag))


# --- Pins: read-your-writes ------------------------------------------------------------------------

def _pin_key(user_id: int) -> str:
    return f"replica-pin:{user_id}"


def pin_seconds() -> float:
    """Long enough for a replica within the lag threshold to have replayed the write."""
    return 2 * settings.TENANTRY_REPLICA_MAX_LAG_SECONDS + 5


def pin(user_id: int) -> None:
    """File the primary's WAL position now, after the user's write committed."""
    with connections[PRIMARY].cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn()::text")
        position = lsn(cursor.fetchone()[0])
    caches["platform"].set(_pin_key(user_id), position, timeout=pin_seconds())


def pinned_at(user) -> int | None:
    if user is None or not user.is_authenticated:
        return None
    return caches["platform"].get(_pin_key(user.pk))


class ReadYourWritesMiddleware:
    """Pins the user of every successful write (outside the tenant router: after its commit)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if (configured() and request.method not in ("GET", "HEAD", "OPTIONS") and response.status_code < 400
                and user is not None and user.is_authenticated):
            try:
                pin(user.pk)
            except Exception as err:  # the write is committed: its answer must not turn into an error
                logger.warning("could not pin user %s to the primary after a write (%s: %s); their next "
                               "reads may lag by up to the threshold", user.pk, type(err).__name__, err)
        return response


# --- Marked views ----------------------------------------------------------------------------------

_route: ContextVar[Route | None] = ContextVar("tenantry_replica_route", default=None)


def current_route() -> Route | None:
    """The route of the marked view running now (None outside one)."""
    return _route.get()


class ReplicaRouter:
    """Reads go to the replica only inside a marked view routed there; nothing is ever written or
    migrated on it (it is read-only anyway: this keeps Django from trying)."""

    def db_for_read(self, model, **hints):
        route = _route.get()
        return REPLICA if route is not None and route.reason == "replica" else None

    def db_for_write(self, model, **hints):
        return PRIMARY if configured() else None

    def allow_relation(self, obj1, obj2, **hints):
        return True if {obj1._state.db, obj2._state.db} <= {PRIMARY, REPLICA} else None

    def allow_migrate(self, db, app_label, **hints):
        return False if db == REPLICA else None


def replica_reads(view):
    """Run a read-only view's queries on the replica when `decide` allows it (see the module)."""

    @wraps(view)
    def marked(request, *args, **kwargs):
        known = state()
        # Without a replica nobody is pinned: no Redis round trip for a pin on every marked request.
        pin = pinned_at(getattr(request, "user", None)) if known is not None else None
        route = decide(known, pin, settings.TENANTRY_REPLICA_MAX_LAG_SECONDS)
        token = _route.set(route)
        try:
            if route.reason != "replica":
                READS.labels(route.reason).inc()
                return view(request, *args, **kwargs)
            try:
                response = _on_replica(request, view, args, kwargs)
            except (OperationalError, InterfaceError) as err:  # lost, or cancelled by a conflict with recovery
                replica = connections[REPLICA]
                if resilience.is_connection_error(err, connection_closed=replica.connection is None
                                                  or replica.connection.closed):
                    mark_down()
                logger.warning("the read replica failed during %s (%s); reading the primary", request.path,
                               str(err).strip() or type(err).__name__)
                _route.set(Route("fallback", route.pin))
                READS.labels("fallback").inc()
                return view(request, *args, **kwargs)
            READS.labels("replica").inc()
            return response
        finally:
            _route.reset(token)

    return marked


def _on_replica(request, view, args, kwargs):
    replica = connections[REPLICA]
    tenant = getattr(request, "tenant", None)
    if tenant is not None:
        replica.set_tenant(tenant)
    try:
        with transaction.atomic(using=REPLICA):
            return view(request, *args, **kwargs)
    finally:
        replica.set_schema_to_public()
