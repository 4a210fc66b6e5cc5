"""The run every section of `make bench` reports into, and what keeps it bounded and clean.

It runs beside other developers' test runs on the shared `make up` platform, so everything it
measures is its own: a fresh database `tenantry_bench_<hex>` (migrated the way a deploy migrates,
template schema included), a fresh namespace `tenantry-bench-<hex>` and private servers, all removed
at the end, on failure and on Ctrl-C too. Every wait is bounded: SIGALRM enforces a section's limit
even when a child process hangs, and a section that fails becomes a FAILED row while the run goes on.
"""
import os
import secrets
import signal
import sys
import time
import traceback
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from bench.procstat import vm_kib
from bench.table import Row, by_section, format_table
from localplatform import config, proc
from localplatform.stack import migrate
from testkit.net import direct

QUICK = os.environ.get("TENANTRY_BENCH_QUICK") == "1"  # shorter measurements, noisier figures
TOTAL_BUDGET_SECONDS = 360  # the provisioning figures' wall-clock budget, their cleanup included
CLEANUP_RESERVE_SECONDS = 45


class BenchTimeout(Exception):
    """The wall-clock budget of a step (or of the run) is spent."""


class Interrupted(Exception):
    """SIGTERM: leave as after Ctrl-C, through the cleanup."""


def _on_alarm(signum, frame):
    raise BenchTimeout("the time bound of this step was reached")


@contextmanager
def time_limit(seconds: float):
    """Raise BenchTimeout in this (main) thread after `seconds`, even inside a hung child process wait.
    Nests: an outer limit keeps running (and wins if it is the sooner one)."""
    signal.signal(signal.SIGALRM, _on_alarm)
    outer, _ = signal.getitimer(signal.ITIMER_REAL)
    began = time.monotonic()
    signal.setitimer(signal.ITIMER_REAL, max(min(seconds, outer or seconds), 0.05))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        if outer:
            signal.setitimer(signal.ITIMER_REAL, max(outer - (time.monotonic() - began), 0.05))


def interrupt_on_signals() -> None:
    """SIGTERM and Ctrl-C raise in the main thread, so every benchmark's cleanup runs; Ctrl-C even when
    started from a shell that ignores SIGINT (a background job)."""
    def on_term(signum, frame):
        raise Interrupted(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, signal.default_int_handler)


def be_patient() -> None:
    """From here on the cleanup must finish: a second Ctrl-C or SIGTERM only says so (each step is
    time-bounded), and no alarm of a section is left to fire inside it."""
    signal.setitimer(signal.ITIMER_REAL, 0)
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: print("  (cleaning up; each step is time-bounded, please wait)", flush=True))


def close_django_connections() -> None:
    try:
        from django.db import connections

        connections.close_all()
    except Exception:  # Django may never have been set up
        pass


@dataclass
class Run:
    started: float
    hex: str = field(default_factory=lambda: secrets.token_hex(4))
    rows: list[Row] = field(default_factory=list)
    hows: list[tuple[str, str]] = field(default_factory=list)  # (what, how it was measured), printed in order
    errors: list[str] = field(default_factory=list)
    tenants_applied: list[str] = field(default_factory=list)
    operator_name: str = ""
    operator_pid: int | None = None

    @property
    def db(self) -> str:
        return f"tenantry_bench_{self.hex}"

    @property
    def namespace(self) -> str:
        return f"tenantry-bench-{self.hex}"

    def left(self) -> float:
        """Seconds the provisioning figures may still spend."""
        return self.started + TOTAL_BUDGET_SECONDS - CLEANUP_RESERVE_SECONDS - time.monotonic()

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def say(self, text: str) -> None:
        print(f"  [{self.elapsed():6.1f}s] {text}", flush=True)

    def add(self, label: str, value: str, how: str) -> None:
        """A figure without a target, and how it was measured."""
        self.rows.append(Row(label, value))
        self.hows.append((label, how))
        self.say(f"{label}: {value}")

    def attempt(self, label: str, seconds: float, body: Callable[[], object]) -> object:
        """body() under a hard time limit. A failure becomes a FAILED row and an error, and None is
        returned so the run goes on; only an interrupt propagates, to reach the cleanup."""
        try:
            with time_limit(seconds):
                return body()
        except BaseException as exc:
            self.errors.append(f"{label}: {type(exc).__name__}: {exc}")
            self.rows.append(Row(label, f"{type(exc).__name__}: {str(exc)[:160]}", "-", "FAILED"))
            self.say(f"FAILED {label}: {type(exc).__name__}: {exc}")
            if isinstance(exc, KeyboardInterrupt | Interrupted):
                raise
            if not isinstance(exc, BenchTimeout):
                traceback.print_exception(exc, limit=6, file=sys.stdout)
            return None

    def section(self, label: str, seconds: float, body: Callable[[], list[Row] | None], how: tuple[str, str]) -> None:
        """A section of the table: the rows body() returns (or appended to self.rows as it went, so
        a timeout keeps those), and what says how they were measured."""
        self.hows.append(how)
        self.rows.extend(self.attempt(label, seconds, body) or [])

    def cleanup_step(self, what: str, seconds: float, fn: Callable[[], object]) -> None:
        """Each cleanup step bounded and independent: a failing one does not keep the others from running."""
        try:
            with time_limit(seconds):
                fn()
        except BaseException as exc:  # cleanup goes on
            self.errors.append(f"cleanup, {what}: {type(exc).__name__}: {exc}")
            print(f"  cleanup, {what} FAILED: {type(exc).__name__}: {exc}", flush=True)


def create_database(db: str) -> float:
    """A new database migrated the way a deploy migrates it (public, template, tenants); the seconds
    the migration took."""
    with direct() as conn:
        conn.execute(f'CREATE DATABASE "{db}"')
    began = time.monotonic()
    migrate(db)
    return time.monotonic() - began


def setup_database(run: Run) -> None:
    with time_limit(min(120, run.left())):
        took = create_database(run.db)
    run.say(f"database {run.db} created and migrated (public, template, tenants) in {took:.1f} s")


def drop_database(db: str) -> None:
    """IF EXISTS: safe when creating it failed, and when an interrupted section's own drop already ran."""
    close_django_connections()
    with direct() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


def forget_cache_keys(*dbs: str) -> None:
    """The shared Redis's keys of these databases (the app prefixes every key with its database)."""
    import redis

    client = redis.Redis.from_url(config.redis_url(), socket_timeout=5)
    for db in dbs:
        keys = list(client.scan_iter(match=f"{db}:*", count=1000))
        if keys:
            client.delete(*keys)


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def machine_facts(run: Run) -> None:
    """The machine is not quiet: its load is printed, so the figures say what they include."""
    mem = vm_kib(Path("/proc/meminfo").read_text(), "MemTotal") / 1024 / 1024
    others = sorted(p.stem for p in config.RUN.glob("*.pid") if proc.read_pid(p.stem) is not None)
    print(f"machine: nproc={os.cpu_count()} (usable {len(os.sched_getaffinity(0))}), {mem:.1f} GiB RAM, "
          f"load average {load_average()}")
    print(f"shared platform processes alive: {', '.join(others) or 'none'}")
    print("note: other developers' tests (Locust, pytest with their own operators and gunicorn) may run at the same "
          "time on these 2 cores; figures are from a shared machine, not a quiet one.")
    print(f"this run: database {run.db}, namespace {run.namespace}, budget {TOTAL_BUDGET_SECONDS} s", flush=True)


def report(run: Run) -> str:
    """The one table, how each figure was measured, and what went wrong."""
    lines = ["", format_table(by_section(run.rows) or [Row("(no figures)", "")]), "", "how each figure was measured:",
             *(f"  {what}: {how}" for what, how in run.hows), "",
             f"machine: {os.cpu_count()} cores shared with other users; load average at the end {load_average()}; "
             f"wall time {run.elapsed():.0f} s"]
    if run.errors:
        lines += ["", "errors:", *(f"  - {error}" for error in run.errors)]
    return "\n".join(lines)
