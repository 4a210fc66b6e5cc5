"""Operator and provisioning benchmark: prints figures, asserts nothing.

    cd /work/main && .venv/bin/python bench/operator_bench.py

Why it is built this way:

- It runs beside other developers' test runs on the shared `make up` platform, so everything it
  measures is its own: a fresh database `tenantry_bench_<hex>` (migrated the way a deploy migrates,
  template schema included), a fresh namespace `tenantry-bench-<hex>` and its own operator process
  built by `localplatform.components.operator`, exactly as the e2e harness does. All of it is removed
  at the end, on failure and on Ctrl-C too. The machine is not quiet: its load is printed, and the
  figures say what they include rather than pretending to be lab numbers.
- The database part of provisioning (figure 1) is measured in-process, with Django configured like the
  operator (direct connection, `app_env(db, pooled=False)` before `django.setup()`), calling the same
  `ensure_schema` the operator calls. Clone and migrate are interleaved pair by pair, alternating which
  goes first, so drift in machine load hits both paths alike; one untimed warm-up pair pays for the
  imports, the migration loader and the first connection.
- The operator figures are end to end through the real API server: one multi-document
  `kubectl apply -f -` and a `kubectl get tenants -o json` poll every 0.5 s, a tenant counting as Ready
  when its Ready condition is True *for the current generation* (what `kubectl wait` users rely on).
  Per-tenant latency therefore has the poll's resolution; the server-side view (Ready's
  lastTransitionTime minus creationTimestamp, 1 s resolution) is printed next to it as a cross-check.
- Memory and CPU are read from /proc of the operator's pid (VmRSS; utime+stime over all threads), and
  "idle" is checked, not assumed: the operator must spend under 5 % of a core for a second first.
  Drift timers are set to 600 s so they cannot fire inside the run.
- Everything is bounded: a wall-clock budget (6 min) drives every wait, and SIGALRM enforces it even if
  a child process hangs; growth to 500 tenants stops at its deadline and reports how far it got.
"""
import json
import math
import os
import secrets
import shutil
import signal
import socket
import statistics
import sys
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "devenv"))

from localplatform import config, proc  # noqa: E402
from localplatform.components import app_env, infrastructure, operator  # noqa: E402
from localplatform.stack import ensure_namespace, install_crd, kubectl, migrate, start_all  # noqa: E402

TOTAL_BUDGET_SECONDS = 360  # the whole run, cleanup included
CLEANUP_RESERVE_SECONDS = 45
SCHEMAS_PER_PATH = 10
BURST_TENANTS = 100
GROWTH_TARGET = 500  # tenants applied in bursts: 100 at once, then 400 more
GROWTH_BATCH = 100
POLL_SECONDS = 0.5
IDLE_CPU_WINDOW_SECONDS = 30
IDLE_CPU_FRACTION = 0.05  # "idle": under 5 % of one core over one second
IDLE_SETTLE_MAX_SECONDS = 15
TENANT_PREFIX = "bench"


# --- pure helpers (unit-tested in tests/unit/test_bench_helpers.py) -------------------------------

def percentile(values: Iterable[float], q: float) -> float:
    """The q-th percentile (0..100) with linear interpolation between closest ranks (numpy's default)."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("percentile of no values")
    if not 0 <= q <= 100:
        raise ValueError(f"percentile {q} is outside 0..100")
    position = (len(ordered) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def tenant_names(prefix: str, start: int, count: int) -> list[str]:
    """["bench-0001", ...]: DNS-1123 names, so schemas t_bench_0001 and hosts bench-0001.localhost."""
    return [f"{prefix}-{number:04d}" for number in range(start, start + count)]


def tenant_manifest(names: Sequence[str], namespace: str | None = None) -> str:
    """One multi-document YAML of minimal Tenants (displayName only; plan, domain and schema take the
    API's defaults), for a single `kubectl apply -f -`."""
    if not names:
        raise ValueError("a manifest needs at least one tenant")
    documents = []
    for name in names:
        if not (name and len(name) <= 63 and name[0].isalnum() and name[-1].isalnum()
                and all(c.islower() or c.isdigit() or c == "-" for c in name)):
            raise ValueError(f"{name!r} is not a DNS-1123 label")
        ns = f"\n  namespace: {namespace}" if namespace else ""
        documents.append(f"apiVersion: tenantry.dev/v1alpha1\nkind: Tenant\nmetadata:\n  name: {name}{ns}\n"
                         f"spec:\n  displayName: \"Bench tenant {name}\"\n")
    return "---\n".join(documents)


def ready_condition(tenant: dict) -> dict | None:
    """The Ready condition when it is True for the tenant's current generation, else None."""
    generation = tenant.get("metadata", {}).get("generation")
    for condition in (tenant.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Ready":
            ok = condition.get("status") == "True" and condition.get("observedGeneration") == generation
            return condition if ok else None
    return None


def parse_time(stamp: str) -> datetime:
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ")


def server_ready_seconds(tenant: dict) -> float | None:
    """Ready's lastTransitionTime minus creationTimestamp (both whole seconds), or None if not Ready."""
    condition = ready_condition(tenant)
    if condition is None or not condition.get("lastTransitionTime"):
        return None
    created = parse_time(tenant["metadata"]["creationTimestamp"])
    return (parse_time(condition["lastTransitionTime"]) - created).total_seconds()


def cpu_ticks(stat_line: str) -> int:
    """utime + stime (clock ticks, all threads) from a /proc/<pid>/stat line; the command name in
    parentheses may itself hold spaces and parentheses, so fields are counted after the last ')'."""
    fields = stat_line.rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # fields 14 and 15 of proc(5), counted from 1


def vm_kib(status_text: str, key: str = "VmRSS") -> int:
    """A `VmRSS:  123456 kB` style value from /proc/<pid>/status, in KiB."""
    for line in status_text.splitlines():
        if line.startswith(f"{key}:"):
            return int(line.split()[1])
    raise ValueError(f"{key} is not in the status text")


def cpu_percent(cpu_seconds: float, wall_seconds: float) -> float:
    """CPU time as a percentage of one core over a wall-clock window."""
    if wall_seconds <= 0:
        raise ValueError("the window must be longer than zero")
    return 100 * cpu_seconds / wall_seconds


def format_table(rows: Sequence[tuple[str, str]]) -> str:
    width = max(len(label) for label, _ in rows)
    line = "-" * (width + 3 + max(len(value) for _, value in rows))
    return "\n".join([line, *(f"{label:<{width}} | {value}" for label, value in rows), line])


# --- reading the operator process -----------------------------------------------------------------

CLK_TCK = os.sysconf("SC_CLK_TCK")


def process_cpu_seconds(pid: int) -> float:
    return cpu_ticks(Path(f"/proc/{pid}/stat").read_text()) / CLK_TCK


def process_mib(pid: int, key: str = "VmRSS") -> float:
    return vm_kib(Path(f"/proc/{pid}/status").read_text(), key) / 1024


def machine_busy_cores(before: list[int], after: list[int]) -> float:
    """Cores' worth of non-idle time between two /proc/stat 'cpu' samples."""
    delta = [b - a for a, b in zip(before, after, strict=True)]
    total = sum(delta)
    idle = delta[3] + delta[4]  # idle + iowait
    return (os.cpu_count() or 1) * (total - idle) / total if total else 0.0


def machine_cpu_sample() -> list[int]:
    return [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]


def wait_until_idle(pid: int, deadline: float) -> tuple[bool, float]:
    """Wait until the operator spends under IDLE_CPU_FRACTION of a core over one second."""
    began = time.monotonic()
    while time.monotonic() < deadline:
        before, t0 = process_cpu_seconds(pid), time.monotonic()
        time.sleep(1.0)
        if (process_cpu_seconds(pid) - before) / (time.monotonic() - t0) < IDLE_CPU_FRACTION:
            return True, time.monotonic() - began
    return False, time.monotonic() - began


# --- the run's bookkeeping ------------------------------------------------------------------------

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


@dataclass
class Figure:
    key: str
    label: str
    value: str
    how: str


@dataclass
class Run:
    started: float
    hex: str = field(default_factory=lambda: secrets.token_hex(4))
    figures: list[Figure] = field(default_factory=list)
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

    @property
    def end(self) -> float:
        return self.started + TOTAL_BUDGET_SECONDS

    def left(self) -> float:
        return self.end - CLEANUP_RESERVE_SECONDS - time.monotonic()

    def add(self, key: str, label: str, value: str, how: str) -> None:
        self.figures.append(Figure(key, label, value, how))
        print(f"  [{self.elapsed():6.1f}s] {label}: {value}", flush=True)

    def fail(self, key: str, label: str, step: str, exc: BaseException) -> None:
        message = f"{step}: {type(exc).__name__}: {exc}".strip()
        self.errors.append(message)
        self.figures.append(Figure(key, label, "FAILED", message.splitlines()[0]))
        print(f"  [{self.elapsed():6.1f}s] FAILED {message}", flush=True)
        if not isinstance(exc, BenchTimeout | Interrupted | KeyboardInterrupt):
            traceback.print_exception(exc, limit=4, file=sys.stdout)

    def elapsed(self) -> float:
        return time.monotonic() - self.started


def close_django_connections() -> None:
    try:
        from django.db import connections

        connections.close_all()
    except Exception:  # Django may never have been set up
        pass


def say(run: Run, text: str) -> None:
    print(f"  [{run.elapsed():6.1f}s] {text}", flush=True)


def direct(db: str = config.DB_NAME):
    """A direct (not pooled) autocommit connection, as tests/harness.py `direct()` makes it."""
    import psycopg

    return psycopg.connect(config.database_url(config.PORTS["postgres"], db), autocommit=True, connect_timeout=10)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((config.HOST, 0))
        return sock.getsockname()[1]


# --- figure 1: schema provisioning, clone vs migrate ----------------------------------------------

@dataclass
class SchemaTimes:
    clone: list[float]
    migrate: list[float]


def measure_schemas(count: int, prefix: str) -> SchemaTimes:
    """ensure_schema() on `count` new schemas per path, interleaved (Django must be set up already)."""
    from django.db import connection

    from tenantry.tenancy.services import ensure_schema

    def clone(schema: str) -> float:
        began = time.perf_counter()
        how = ensure_schema(schema)
        took = time.perf_counter() - began
        if how != "cloned":
            raise RuntimeError(f"ensure_schema({schema!r}) returned {how!r}, expected 'cloned' "
                               "(is the template schema current?)")
        return took

    def migrate_one(schema: str) -> float:
        with connection.cursor() as cursor:  # an empty schema: ensure_schema must migrate it
            cursor.execute(f'CREATE SCHEMA "{schema}"')
        began = time.perf_counter()
        how = ensure_schema(schema)
        took = time.perf_counter() - began
        if how != "migrated":
            raise RuntimeError(f"ensure_schema({schema!r}) returned {how!r}, expected 'migrated'")
        return took

    clone(f"{prefix}_c_warm")
    migrate_one(f"{prefix}_m_warm")
    times = SchemaTimes([], [])
    for i in range(count):
        pair = [(times.clone, clone, f"{prefix}_c{i:02d}"), (times.migrate, migrate_one, f"{prefix}_m{i:02d}")]
        for into, fn, schema in (pair if i % 2 == 0 else pair[::-1]):
            into.append(fn(schema))
    return times


def figure_schemas(run: Run, redis_url: str | None = None) -> None:
    """Also sets Django up in this process for the bench database (`redis_url`: another Redis)."""
    label = "1. schema: clone vs migrate"
    try:
        # Before django.setup(): the operator's settings.
        os.environ.update({**app_env(run.db, pooled=False), **({"REDIS_URL": redis_url} if redis_url else {})})
        import django

        django.setup()
        with time_limit(min(120, run.left())):
            times = measure_schemas(SCHEMAS_PER_PATH, f"t_bench_{run.hex}")
    except BaseException as exc:  # reported, the run goes on
        run.fail("1", label, "schema provisioning", exc)
        if isinstance(exc, KeyboardInterrupt | Interrupted):
            raise
        return
    finally:
        close_django_connections()
    how = (f"in-process ensure_schema() on a direct connection to {run.db}; {SCHEMAS_PER_PATH} new schemas per "
           "path, interleaved pair by pair (alternating which goes first) after one untimed warm-up pair; "
           "clone = template current, no schema yet (returned 'cloned'); migrate = CREATE SCHEMA first (not "
           "timed), then every tenant migration (returned 'migrated'); perf_counter around the call only")
    clone_p50, clone_mean = percentile(times.clone, 50), statistics.fmean(times.clone)
    mig_p50, mig_mean = percentile(times.migrate, 50), statistics.fmean(times.migrate)
    run.add("1a", "1a. schema clone, s/tenant", f"p50 {clone_p50:.3f}  mean {clone_mean:.3f}  "
            f"(min {min(times.clone):.3f}, max {max(times.clone):.3f}, n={len(times.clone)})", how)
    run.add("1b", "1b. schema migrate, s/tenant", f"p50 {mig_p50:.3f}  mean {mig_mean:.3f}  "
            f"(min {min(times.migrate):.3f}, max {max(times.migrate):.3f}, n={len(times.migrate)})", "as 1a")
    run.add("1c", "1c. migrate / clone", f"{mig_mean / clone_mean:.1f}x by mean, {mig_p50 / clone_p50:.1f}x by p50",
            "ratio of 1b to 1a, same run, same database")


# --- figures 2-4: the operator through the API server ----------------------------------------------

@dataclass
class Wave:
    names: list[str]
    apply_seconds: float = 0.0  # how long `kubectl apply` itself took
    ready_after: dict[str, float] = field(default_factory=dict)  # name -> seconds from apply start
    server_seconds: dict[str, float] = field(default_factory=dict)
    total_seconds: float | None = None  # apply start -> last one seen Ready (None if not all)
    waited_seconds: float = 0.0  # apply start -> end of waiting (all Ready, or the deadline)
    polls: int = 0
    poll_seconds: float = 0.0
    operator_cpu_seconds: float | None = None
    present: int = 0
    ready_present: int = 0

    @property
    def complete(self) -> bool:
        return len(self.ready_after) == len(self.names)

    def latencies(self) -> list[float]:
        return list(self.ready_after.values())


def list_tenants(namespace: str) -> list[dict]:
    return json.loads(kubectl("-n", namespace, "get", "tenants", "-o", "json"))["items"]


def apply_and_wait(run: Run, names: list[str], deadline: float) -> Wave:
    """One `kubectl apply -f -` of `names`, then poll every POLL_SECONDS until all are Ready or the
    deadline passes. Times count from just before kubectl starts."""
    wave = Wave(names)
    cpu_before = process_cpu_seconds(run.operator_pid) if run.operator_pid else None
    manifest = tenant_manifest(names)
    began = time.monotonic()
    run.tenants_applied.extend(names)
    kubectl("-n", run.namespace, "apply", "-f", "-", input=manifest)
    wave.apply_seconds = time.monotonic() - began
    pending = set(names)
    while pending and time.monotonic() < deadline:
        poll_began = time.monotonic()
        items = list_tenants(run.namespace)
        seen = time.monotonic()
        wave.polls += 1
        wave.poll_seconds += seen - poll_began
        for item in items:
            name = item["metadata"]["name"]
            if name in pending and ready_condition(item):
                wave.ready_after[name] = seen - began
                server = server_ready_seconds(item)
                if server is not None:
                    wave.server_seconds[name] = server
                pending.discard(name)
        wave.present = len(items)
        wave.ready_present = sum(1 for item in items if ready_condition(item))
        if pending:
            time.sleep(max(0.0, min(POLL_SECONDS - (time.monotonic() - poll_began), deadline - time.monotonic())))
    wave.waited_seconds = time.monotonic() - began
    if not pending:
        wave.total_seconds = max(wave.ready_after.values())
    if cpu_before is not None:
        wave.operator_cpu_seconds = process_cpu_seconds(run.operator_pid) - cpu_before
    return wave


def wave_summary(wave: Wave, server: bool = False) -> str:
    lat = wave.latencies()
    if not lat:
        return f"none of {len(wave.names)} Ready"
    head = (f"total {wave.total_seconds:.1f} s" if wave.complete
            else f"only {len(lat)}/{len(wave.names)} Ready by the deadline")
    text = f"{head}; per tenant p50 {percentile(lat, 50):.1f} s, p95 {percentile(lat, 95):.1f} s"
    if server and wave.server_seconds:
        values = list(wave.server_seconds.values())
        text += f" (server-side p50 {percentile(values, 50):.0f} s, p95 {percentile(values, 95):.0f} s)"
    return text


def wave_how(wave: Wave) -> str:
    polls = f"{wave.polls} polls, {wave.poll_seconds / wave.polls:.2f} s each" if wave.polls else "no polls"
    server = ""
    if wave.server_seconds:
        values = list(wave.server_seconds.values())
        server = (f"; server-side Ready.lastTransitionTime - creationTimestamp p50 {percentile(values, 50):.0f} s, "
                  f"p95 {percentile(values, 95):.0f} s, max {max(values):.0f} s")
    cpu = ""
    if wave.operator_cpu_seconds is not None:
        cpu = (f"; operator CPU {wave.operator_cpu_seconds:.1f} s "
               f"({1000 * wave.operator_cpu_seconds / len(wave.names):.0f} ms/tenant)")
    return (f"`kubectl apply -f -` of {len(wave.names)} Tenant(s) in one YAML (the command took "
            f"{wave.apply_seconds:.2f} s), then `kubectl get tenants -o json` every {POLL_SECONDS} s ({polls}); "
            f"times from apply start to the poll that first saw Ready=True at observedGeneration == "
            f"generation, so they include kubectl creating the objects one by one (GET, GET namespace, POST each); "
            f"the server-side figures leave that out{server}{cpu}")


def start_operator(run: Run) -> None:
    runner = operator(name=f"operator-bench-{run.hex}", port=free_port(), namespace=run.namespace,
                      db_name=run.db, drift_interval_seconds=600)
    run.operator_name = runner.name
    start_all([runner])
    run.operator_pid = proc.read_pid(runner.name)
    if run.operator_pid is None:
        raise RuntimeError(f"the operator exited right after starting; read {proc.log_file(runner.name)}")
    cmdline = Path(f"/proc/{run.operator_pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    if "kopf" not in cmdline:
        raise RuntimeError(f"pid {run.operator_pid} is not the kopf process: {cmdline}")


def idle_rss(run: Run, key: str, label: str, present_note: str) -> None:
    try:
        with time_limit(IDLE_SETTLE_MAX_SECONDS + 5):
            idle, waited = wait_until_idle(run.operator_pid, time.monotonic() + IDLE_SETTLE_MAX_SECONDS)
        rss, peak = process_mib(run.operator_pid), process_mib(run.operator_pid, "VmHWM")
    except BaseException as exc:
        run.fail(key, label, "operator memory", exc)
        if isinstance(exc, KeyboardInterrupt | Interrupted):
            raise
        return
    state = (f"idle after {waited:.0f} s (<{IDLE_CPU_FRACTION:.0%} of a core over 1 s)" if idle
             else f"NOT idle after {waited:.0f} s: read while still busy")
    run.add(key, label, f"{rss:.1f} MiB", f"VmRSS of pid {run.operator_pid} (/proc/<pid>/status), {present_note}, "
            f"{state}; peak so far (VmHWM) {peak:.1f} MiB")


def figure_operator(run: Run) -> None:
    """Figures 2-4 share one operator; each step reports its own failure and the next one goes on
    while the operator is still alive."""
    try:
        with time_limit(min(60, run.left())):
            install_crd()
            ensure_namespace(run.namespace)
        with time_limit(min(100, run.left())):
            start_operator(run)
        say(run, f"operator {run.operator_name} is pid {run.operator_pid}, log {proc.log_file(run.operator_name)}")
        run.add("3", "3. operator RSS at start, 0 tenants", f"{process_mib(run.operator_pid):.1f} MiB",
                "VmRSS right after start (Django and kopf imported, nothing to reconcile): a baseline")
    except BaseException as exc:
        run.fail("2", "2-4. operator", "starting the operator", exc)
        if isinstance(exc, KeyboardInterrupt | Interrupted):
            raise
        return

    steps: list[tuple[str, Callable[[], None]]] = [
        ("single", lambda: step_single(run)),
        ("burst", lambda: step_burst(run)),
        ("growth", lambda: step_growth(run)),
    ]
    for _, step in steps:
        if proc.read_pid(run.operator_name) is None:
            run.errors.append(f"the operator died; read {proc.log_file(run.operator_name)}")
            print(f"  the operator died:\n{proc.log_tail(run.operator_name)}")
            return
        step()


def _step(run: Run, key: str, label: str, budget: float, body: Callable[[float], None]) -> None:
    """Run body(deadline) under a hard time limit; a failure is reported and the run goes on."""
    deadline = time.monotonic() + max(0.0, min(budget, run.left()))
    try:
        with time_limit(deadline - time.monotonic() + 10):
            body(deadline)
    except BaseException as exc:
        run.fail(key, label, label, exc)
        if isinstance(exc, KeyboardInterrupt | Interrupted):
            raise


def step_single(run: Run) -> None:
    label = "2a. one Tenant alone, apply->Ready"

    def body(deadline: float) -> None:
        started = time.monotonic()
        wave = apply_and_wait(run, tenant_names(TENANT_PREFIX, 0, 1), deadline)
        if not wave.complete:
            raise BenchTimeout(f"not Ready within {time.monotonic() - started:.0f} s of applying it")
        run.add("2a", label, f"{wave.total_seconds:.1f} s", wave_how(wave))

    _step(run, "2a", label, 60, body)


def step_burst(run: Run) -> None:
    label = f"2b. {BURST_TENANTS} Tenants at once"

    def body(deadline: float) -> None:
        wave = apply_and_wait(run, tenant_names(TENANT_PREFIX, 1, BURST_TENANTS), deadline)
        rate = f"; {len(wave.ready_after) / wave.total_seconds:.1f} tenants/s" if wave.complete else ""
        run.add("2b", label, wave_summary(wave, server=True) + rate, wave_how(wave))
        if not wave.complete:
            run.errors.append(f"{label}: only {len(wave.ready_after)} of {BURST_TENANTS} Ready by the deadline")

    # Leave room for growth, the idle measurements and cleanup.
    _step(run, "2b", label, max(60.0, run.left() - IDLE_CPU_WINDOW_SECONDS - 2 * IDLE_SETTLE_MAX_SECONDS - 60), body)
    idle_rss(run, "3a", f"3a. operator RSS idle, {len(run.tenants_applied)} tenants",
             f"{len(run.tenants_applied)} tenants applied (1 alone + {BURST_TENANTS} at once)")


def step_growth(run: Run) -> None:
    label = f"3b. growth to {1 + GROWTH_TARGET} tenants (1+{BURST_TENANTS}+{GROWTH_TARGET - BURST_TENANTS})"
    waves: list[Wave] = []
    # The growth must leave time for the idle CPU window and its settle.
    growth_end = time.monotonic() + run.left() - IDLE_CPU_WINDOW_SECONDS - IDLE_SETTLE_MAX_SECONDS - 10
    note, failed = "", False
    try:
        start = 1 + BURST_TENANTS
        while start < 1 + GROWTH_TARGET:
            if growth_end - time.monotonic() < 5:
                note = "time bound reached before every batch was applied"
                break
            names = tenant_names(TENANT_PREFIX, start, min(GROWTH_BATCH, 1 + GROWTH_TARGET - start))
            with time_limit(growth_end - time.monotonic() + 15):
                wave = apply_and_wait(run, names, growth_end)
            waves.append(wave)
            say(run, f"batch {start}..{start + len(names) - 1}: {wave_summary(wave)}, "
                     f"{wave.ready_present}/{wave.present} present are Ready")
            if not wave.complete:
                note = "time bound reached while waiting for Ready"
                break
            start += len(names)
    except BaseException as exc:
        failed = True
        run.fail("3b", label, "growing to 500 tenants", exc)
        if isinstance(exc, KeyboardInterrupt | Interrupted):
            raise
    present, ready = _count_ready(run)
    if waves:
        per_batch = ", ".join(f"{w.total_seconds:.1f}" if w.complete else f"{len(w.ready_after)}/{len(w.names)}"
                              for w in waves)
        spent = sum(w.total_seconds if w.complete else w.waited_seconds for w in waves)
        grown = sum(len(w.ready_after) for w in waves)
        cpu = sum(w.operator_cpu_seconds or 0 for w in waves)
        value = f"{ready}/{present} present are Ready" + (f" ({note})" if note else "")
        run.add("3b", label, value,
                f"{len(waves)} batch(es) of {GROWTH_BATCH} applied one after another, each with one `kubectl apply` "
                f"and awaited as in 2b; seconds to all-Ready per batch: {per_batch}; {grown} tenants in {spent:.1f} s "
                f"({grown / spent if spent else 0:.1f}/s); operator CPU {cpu:.1f} s; polls of ~{present} tenants "
                f"took {statistics.fmean([w.poll_seconds / w.polls for w in waves if w.polls] or [0]):.2f} s each")
    elif not failed:
        run.add("3b", label, f"not attempted ({note or 'an earlier failure'})", "no batch could be applied in time")
    if ready < 1 + GROWTH_TARGET:
        run.errors.append(f"{label}: only {ready} of {1 + GROWTH_TARGET} tenants Ready within the time bound")
    idle_rss(run, "3c", f"3c. operator RSS idle, {present} tenants", f"{present} tenants present, {ready} Ready")
    step_idle_cpu(run, present, ready)


def _count_ready(run: Run) -> tuple[int, int]:
    try:
        with time_limit(30):
            items = list_tenants(run.namespace)
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt | Interrupted):
            raise
        return len(run.tenants_applied), -1
    return len(items), sum(1 for item in items if ready_condition(item))


def step_idle_cpu(run: Run, present: int, ready: int) -> None:
    label = f"4. operator CPU idle, {present} tenants"
    pid = run.operator_pid
    try:
        with time_limit(IDLE_CPU_WINDOW_SECONDS + 10):
            cpu0, machine0, t0 = process_cpu_seconds(pid), machine_cpu_sample(), time.monotonic()
            time.sleep(IDLE_CPU_WINDOW_SECONDS)
            cpu1, machine1, t1 = process_cpu_seconds(pid), machine_cpu_sample(), time.monotonic()
    except BaseException as exc:
        run.fail("4", label, "idle CPU", exc)
        if isinstance(exc, KeyboardInterrupt | Interrupted):
            raise
        return
    used = cpu1 - cpu0
    busy = machine_busy_cores(machine0, machine1)
    caveat = "" if ready == present else f"; NOT all idle: only {ready}/{present} were Ready when the window began"
    run.add("4", label, f"{cpu_percent(used, t1 - t0):.2f} % of one core ({used:.2f} CPU s in {t1 - t0:.1f} s)",
            f"utime+stime of pid {pid} (all threads, /proc/<pid>/stat, {CLK_TCK} ticks/s) over {t1 - t0:.1f} s "
            f"with no kubectl polling and drift timers at 600 s (none due); the whole machine was busy "
            f"{busy:.2f} of {os.cpu_count()} cores meanwhile (other users){caveat}")


# --- setup and cleanup -----------------------------------------------------------------------------

def machine_facts(run: Run) -> None:
    mem = vm_kib(Path("/proc/meminfo").read_text(), "MemTotal") / 1024 / 1024
    others = sorted(p.stem for p in config.RUN.glob("*.pid") if proc.read_pid(p.stem) is not None)
    print(f"machine: nproc={os.cpu_count()} (usable {len(os.sched_getaffinity(0))}), {mem:.1f} GiB RAM, "
          f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"shared platform processes alive: {', '.join(others) or 'none'}")
    print("note: other developers' tests (Locust, pytest with their own operators and gunicorn) may run at the same "
          "time on these 2 cores; figures are from a shared machine, not a quiet one.")
    print(f"this run: database {run.db}, namespace {run.namespace}, budget {TOTAL_BUDGET_SECONDS} s", flush=True)


def setup_database(run: Run) -> None:
    with time_limit(min(120, run.left())):
        with direct() as conn:
            conn.execute(f'CREATE DATABASE "{run.db}"')
        began = time.monotonic()
        migrate(run.db)
    say(run, f"database {run.db} created and migrated (public, template, tenants) in {time.monotonic() - began:.1f} s")


def cleanup(run: Run, created_db: bool, touched_namespace: bool) -> None:
    """Each step bounded and independent: a failing one does not keep the others from running."""
    def step(what: str, seconds: float, fn: Callable[[], object]) -> None:
        try:
            with time_limit(seconds):
                fn()
        except BaseException as exc:  # cleanup goes on
            run.errors.append(f"cleanup, {what}: {type(exc).__name__}: {exc}")
            print(f"  cleanup, {what} FAILED: {type(exc).__name__}: {exc}", flush=True)

    def strip_finalizers() -> None:
        # The operator is stopped: its finalizer would keep every Tenant, and so the namespace, forever.
        # Through the Python client: `kubectl patch` of many objects is throttled client-side to about
        # 5 requests/s (GET + PATCH each), which makes 500 Tenants take ~100 s.
        import kubernetes

        api = kubernetes.client.CustomObjectsApi(
            kubernetes.config.new_client_from_config(config_file=str(config.KUBECONFIG)))
        group, version, plural = "tenantry.dev", "v1alpha1", "tenants"
        for item in api.list_namespaced_custom_object(group, version, run.namespace, plural)["items"]:
            if item["metadata"].get("finalizers"):
                api.patch_namespaced_custom_object(group, version, run.namespace, plural, item["metadata"]["name"],
                                                   {"metadata": {"finalizers": None}})

    def drop_database() -> None:
        close_django_connections()
        with direct() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{run.db}" WITH (FORCE)')

    def forget_cache_keys() -> None:
        import redis

        client = redis.Redis.from_url(config.redis_url(), socket_timeout=5)
        keys = list(client.scan_iter(match=f"{run.db}:*", count=1000))
        if keys:
            client.delete(*keys)

    print(f"cleanup ({run.elapsed():.0f} s in):", flush=True)
    if run.operator_name:
        step("stopping the operator", 25, lambda: proc.stop(run.operator_name))
        backups = config.LOCAL / "backups" / run.operator_name
        if backups.is_dir():
            step("removing its backup folder", 5, lambda: shutil.rmtree(backups))
    if touched_namespace:
        step("removing Tenant finalizers", 40, strip_finalizers)
        step("deleting the namespace", 20, lambda: kubectl("delete", "namespace", run.namespace, "--wait=false",
                                                            "--ignore-not-found"))
    if created_db:
        step("dropping the database", 30, drop_database)
        step("deleting cache keys", 10, forget_cache_keys)
    failed = [e for e in run.errors if e.startswith("cleanup")]
    summary = (f"INCOMPLETE ({len(failed)} step(s) failed, see errors): check namespace {run.namespace} and "
               f"database {run.db}" if failed else
               f"done: operator stopped, namespace {run.namespace} deleting, database {run.db} dropped")
    log = proc.log_file(run.operator_name) if run.operator_name else "-"
    print(f"  {summary} (operator log kept: {log})", flush=True)


def report(run: Run) -> None:
    print()
    print(format_table([(f.label, f.value) for f in run.figures] or [("(no figures)", "")]))
    print("\nhow each figure was measured:")
    for f in run.figures:
        print(f"  {f.label}: {f.how}")
    print(f"\nload average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
          f"wall time {run.elapsed():.0f} s")
    if run.errors:
        print("\nerrors:")
        for error in run.errors:
            print(f"  - {error}")


def interrupt_on_signals() -> None:
    """SIGTERM and Ctrl-C raise in the main thread, so every benchmark's cleanup runs; Ctrl-C even when
    started from a shell that ignores SIGINT (a background job)."""
    def on_term(signum, frame):
        raise Interrupted(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, signal.default_int_handler)


def main() -> int:
    run = Run(started=time.monotonic())

    interrupt_on_signals()
    print("Tenantry operator/provisioning benchmark")
    machine_facts(run)
    created_db = touched_namespace = False
    try:
        with time_limit(60):
            proc_missing = [c.title for c in infrastructure() if proc.read_pid(c.name) is None or not c.ready()]
        if proc_missing:
            raise RuntimeError(f"the platform is not up ({', '.join(proc_missing)}); run `make up` first")
        created_db = True  # from here on, cleanup tries to drop it (IF EXISTS)
        setup_database(run)
        figure_schemas(run)
        touched_namespace = True
        figure_operator(run)
    except (KeyboardInterrupt, Interrupted) as exc:
        run.errors.append(f"interrupted ({type(exc).__name__}); partial results below")
        print(f"\ninterrupted: {type(exc).__name__} {exc}", flush=True)
    except BaseException as exc:
        run.errors.append(f"setup: {type(exc).__name__}: {exc}")
        traceback.print_exc(file=sys.stdout)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        # Cleanup must finish: a second Ctrl-C or SIGTERM only says so (each step is time-bounded).
        def patient(signum, frame):
            print("  (cleaning up; each step is time-bounded, please wait)", flush=True)

        signal.signal(signal.SIGINT, patient)
        signal.signal(signal.SIGTERM, patient)
        cleanup(run, created_db, touched_namespace)
    report(run)
    return 1 if run.errors else 0


if __name__ == "__main__":
    sys.exit(main())
