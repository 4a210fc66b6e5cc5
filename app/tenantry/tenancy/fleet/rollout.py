"""A rollout: the schemas that lack migrations, canaries first, then the rest in batches.

Each schema migrates in one transaction on one of `parallel` connections (plus the caller's own), under
an advisory lock per schema, after checking that it still stands where the survey saw it; the same
transaction records the migrations. So two runners (the deploy hook and the operator) never migrate a
schema at once, a killed runner leaves each schema either migrated and recorded or untouched, and a
new run resumes with what the survey finds behind: nothing is applied twice.

Canary tenants go first; one that fails stops the rollout before any other tenant is touched. After
them, a failing schema is recorded on its Tenant row (and shown on the Tenant by the operator) and the
rollout goes on. With `retry_after`, a schema that failed at this target recently is left alone (the
operator's loop); a deploy retries every one.
"""
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import psycopg
from django.core.management import call_command
from django.db import DatabaseError, connection
from django.utils import timezone

from tenantry.tenancy.fleet.compiled import CompiledPlan, compile_plan
from tenantry.tenancy.fleet.survey import SchemaState, recorded_sql
from tenantry.tenancy.fleet.target import Target, migration_name
from tenantry.tenancy.models import Tenant
from tenantry.tenancy.naming import quote_identifier
from tenantry.tenancy.services import recorded_migrations

LOCK_SPACE = 0x54454E  # first key of the per-schema advisory lock ("TEN"); the second is hashtext(schema)


@dataclass(frozen=True)
class Plan:
    canaries: list[SchemaState]
    rest: list[SchemaState]
    held: str = ""  # why the rest waits although nothing runs now (a canary failed recently)


@dataclass
class Report:
    target: str
    canaries: list[str] = field(default_factory=list)
    migrated: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    moved: list[str] = field(default_factory=list)  # changed since the survey: the next run sees them again
    stopped: str = ""  # the canary stage failed: nothing else was touched
    interrupted: str = ""  # the database connection was lost: the next run resumes
    held: str = ""
    seconds: float = 0.0


def plan(states: list[SchemaState], target: Target, now: datetime | None = None,
         retry_after: float | None = None) -> Plan:
    """Who migrates now. `retry_after` (seconds) leaves out a schema that failed at this target less
    than that long ago; a canary left out that way holds every other tenant back."""
    now = now or datetime.now(UTC)

    def due(state: SchemaState) -> bool:
        return (retry_after is None or not state.failure or state.failed_version != target.version
                or state.failed_at is None or now - state.failed_at >= timedelta(seconds=retry_after))

    behind = [s for s in states if s.pending > 0]
    waiting_canaries = [s for s in behind if s.canary]
    canaries = [s for s in waiting_canaries if due(s)]
    held = ""
    if waiting_canaries and not canaries:
        first = waiting_canaries[0]
        held = f"canary {first.schema} failed: {first.failure}"
    rest = [] if held else [s for s in behind if not s.canary and due(s)]
    return Plan(canaries=canaries, rest=rest, held=held)


def apply_compiled(conn: psycopg.Connection, schema: str, compiled: CompiledPlan, start_version: str,
                   target: Target, lock_timeout_ms: int) -> str:
    """Migrate one schema in one transaction: "migrated", "current" (another runner did it while we
    waited for its lock) or "moved" (it changed since the survey); raises on failure (rolled back)."""
    with conn.transaction(), conn.cursor() as cursor:
        cursor.execute(f"SET LOCAL lock_timeout = {int(lock_timeout_ms)}")
        cursor.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", [LOCK_SPACE, schema])
        cursor.execute(f"SET LOCAL search_path = {quote_identifier(schema)}, public")
        cursor.execute(recorded_sql([schema]), {"s0": schema, "names": sorted(target.names)})
        version = cursor.fetchone()[2][:12]
        if version != start_version:
            return "current" if version == target.version else "moved"
        for statement in compiled.statements:
            cursor.execute(statement)
        apps, names = zip(*compiled.migrations, strict=True) if compiled.migrations else ((), ())
        cursor.execute(f"INSERT INTO {quote_identifier(schema)}.django_migrations (app, name, applied) "
                       "SELECT a, n, now() FROM unnest(%s::text[], %s::text[]) AS t(a, n)", [list(apps), list(names)])
    return "migrated"


def migrate_with_django(schema: str) -> str:
    """Django's own `migrate` for one schema (what SQL cannot replay), under the same advisory lock
    (django-tenants closes the connection after a schema's migrations, which releases it)."""
    with _session_lock(schema_key="hashtext(%s)", params=[schema], wait=True):
        call_command("migrate_schemas", schema_name=schema, tenant=True, interactive=False, verbosity=0)
    connection.set_schema_to_public()
    return "migrated"


@contextmanager
def _session_lock(schema_key: str, params: list, wait: bool) -> Iterator[bool]:
    """An advisory lock of this session on Django's direct connection; released at the end, unless the
    connection was closed meanwhile (which released it)."""
    function = "pg_advisory_lock" if wait else "pg_try_advisory_lock"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {function}(%s, {schema_key})", [LOCK_SPACE, *params])
        held = wait or cursor.fetchone()[0]
    held_on = connection.connection
    try:
        yield held
    finally:
        if held and connection.connection is held_on and not held_on.closed:
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT pg_advisory_unlock(%s, {schema_key})", [LOCK_SPACE, *params])


class _Connections:
    """One direct connection per worker thread, closed together at the end."""

    # Django's own adapters and cursor class are for its connection; the workers send plain SQL.
    DJANGO_ONLY = ("cursor_factory", "context", "prepare_threshold")

    def __init__(self):
        params = connection.get_connection_params()  # the settings' host, credentials and OPTIONS (SSL...)
        self.params = {**{k: v for k, v in params.items() if k not in self.DJANGO_ONLY}, "autocommit": True,
                       "application_name": "tenantry-fleet-migrate"}
        self.local = threading.local()
        self.opened: list[psycopg.Connection] = []
        self.lock = threading.Lock()

    def get(self) -> psycopg.Connection:
        conn = getattr(self.local, "conn", None)
        if conn is None or conn.closed:
            conn = self.local.conn = psycopg.connect(**self.params)
            with self.lock:
                self.opened.append(conn)
        return conn

    def close(self) -> None:
        for conn in self.opened:
            conn.close()


def _applied_names(schema: str, target: Target) -> frozenset[str]:
    return frozenset(migration_name(app, name) for app, name in recorded_migrations(schema)) & target.names


def _batches(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _error(exc: Exception) -> str:
    return (f"{type(exc).__name__}: {exc}".strip())[:1000]


def _record(target: Target, outcomes: dict[str, str], failures: dict[str, str]) -> None:
    """The batch's failures on their Tenant rows; a schema that got through loses its old failure."""
    now = timezone.now()
    for schema, error in failures.items():
        Tenant.objects.filter(schema_name=schema).update(migration_error=error, migration_failed_at=now,
                                                        migration_failed_version=target.version)
    done = [schema for schema, result in outcomes.items() if result in ("migrated", "current")]
    if done:
        (Tenant.objects.filter(schema_name__in=done).exclude(migration_error="")
         .update(migration_error="", migration_failed_at=None, migration_failed_version=""))


class ConnectionLost(Exception):
    """The database went away under a schema's migration (a restart, a failover): not the schema's
    fault, so nothing is recorded on it; the rollout stops and the next run resumes."""


def _migrate_one(connections: _Connections, state: SchemaState, compiled: CompiledPlan, target: Target,
                 lock_timeout_ms: int) -> str:
    conn = connections.get()
    try:
        return apply_compiled(conn, state.schema, compiled, state.version, target, lock_timeout_ms)
    except psycopg.Error as exc:
        if conn.broken or conn.closed:
            raise ConnectionLost(_error(exc)) from exc
        raise


def _django_connection_lost() -> bool:
    return connection.connection is None or connection.connection.closed or connection.connection.broken


def exclusive(wait: bool):
    """One rollout at a time per database (the deploy hook waits for the operator's, the operator skips
    a round while the hook's runs): yields whether this runner holds the lock. Schemas that only
    Django can migrate end it early (see migrate_with_django); the per-schema locks still hold."""
    return _session_lock(schema_key="0", params=[], wait=wait)


def rollout(target: Target, states: list[SchemaState], *, parallel: int = 4, batch_size: int = 50,
            retry_after: float | None = None, lock_timeout_ms: int = 10_000,
            on_batch: Callable[[Report], None] | None = None) -> Report:
    """Run `plan(states)`: canaries, then (if they all got through) the rest in batches. `parallel`
    bounds the connections migrating at once; `on_batch` sees the report after every batch."""
    started = time.monotonic()
    chosen = plan(states, target, retry_after=retry_after)
    report = Report(target=target.version, canaries=[s.schema for s in chosen.canaries], held=chosen.held)
    compiled: dict[str, CompiledPlan] = {}
    connections = _Connections()

    def run(batch: list[SchemaState], pool: ThreadPoolExecutor) -> None:
        outcomes: dict[str, str] = {}
        failures: dict[str, str] = {}
        futures = {}
        for state in batch:
            try:
                if state.version not in compiled:  # the first schema of a version is its reference
                    compiled[state.version] = compile_plan(target, _applied_names(state.schema, target), state.schema)
                plan_ = compiled[state.version]
                if plan_.replayable:
                    futures[state.schema] = pool.submit(_migrate_one, connections, state, plan_, target,
                                                        lock_timeout_ms)
                else:
                    outcomes[state.schema] = migrate_with_django(state.schema)
            except Exception as exc:  # noqa: BLE001 - one schema's failure is recorded, the rollout goes on
                if _django_connection_lost():
                    report.interrupted = report.interrupted or f"at {state.schema}: {_error(exc)}"
                    break
                failures[state.schema] = _error(exc)
        for schema, future in futures.items():
            try:
                outcomes[schema] = future.result()
            except ConnectionLost as exc:
                report.interrupted = report.interrupted or f"at {schema}: {exc}"
            except Exception as exc:  # noqa: BLE001
                failures[schema] = _error(exc)
        try:
            _record(target, outcomes, failures)
        except DatabaseError as exc:
            report.interrupted = report.interrupted or f"recording the results: {_error(exc)}"
        report.migrated += [s for s, result in outcomes.items() if result in ("migrated", "current")]
        report.moved += [s for s, result in outcomes.items() if result == "moved"]
        report.failed.update(failures)
        report.seconds = time.monotonic() - started
        if on_batch:
            on_batch(report)

    try:
        with ThreadPoolExecutor(max_workers=max(1, parallel), thread_name_prefix="fleet-migrate") as pool:
            if chosen.canaries:
                run(chosen.canaries, pool)
                unconfirmed = [s for s in report.canaries if s not in report.migrated]
                if unconfirmed and not report.interrupted:
                    first = unconfirmed[0]
                    report.stopped = (f"canary {first} failed: {report.failed[first]}" if first in report.failed
                                      else f"canary {first} changed during the rollout")
                if unconfirmed:
                    return report
            for batch in _batches(chosen.rest, batch_size):
                if report.interrupted:
                    break
                run(batch, pool)
    finally:
        connections.close()
        report.seconds = time.monotonic() - started
    return report
