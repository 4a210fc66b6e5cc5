"""Fleet migrations: Tenantry's `migrate_tenants` against stock django-tenants' `migrate_schemas
--tenant`, side by side in one run (a section of `make bench`; alone: `.venv/bin/python -m bench.fleet_bench`).

How it is built:

- Two scratch databases of its own, migrated the way a deploy migrates them (public, template, tenants):
  `<bench db>_fleet` with N tenant schemas (1,000; QUICK 200) for Tenantry and `<bench db>_stock` with
  K (100; QUICK 40) for stock django-tenants, which takes too long per schema to run on N. Both are
  filled the same way, in one process per database (`populate` below, Django set up for that
  database): `clone_schema` of the template in a loop, then the Tenant rows in one bulk insert. So both
  start from identical schemas, and the stock figures are per schema and extrapolated to N. Both
  databases are dropped at the end, on failure and on timeout too.
- Every command runs as a subprocess exactly as a deploy would run it (`python -m django ...` on a
  direct connection), Django's start-up included in its wall time. "One real migration" is the
  probe release of bench/migration_probe.py (an AddField with a default and an AddIndex on the
  projects table), selected with DJANGO_SETTINGS_MODULE, as tests/integration/test_fleet_migrations.py
  does. Stock runs use tenantry.settings_stock (django-tenants' own backend) with
  TENANT_MULTIPROCESSING_MAX_PROCESSES written into a small settings module beside the release.
- Stock per schema is (wall - start-up) / K, start-up being the time to its first "=== Starting
  migration" line, and the extrapolation to N is start-up + N x that: stock's start-up is not charged
  per schema. Tenantry per schema is its whole wall time / N, start-up and survey included: the
  ratios never favour Tenantry.
- While a command runs, a sampler thread reads every ~50 ms the VmHWM of the command's process, the
  sum of VmRSS over it and its descendants (/proc; forked workers share pages, so that sum overstates
  them: their Pss sum is printed beside it), and counts the database's client backends in
  pg_stat_activity from a connection to another database (autovacuum workers, busy after 1,000 new
  schemas, are left out).
- The no-op runs are repeatable: 3 interleaved rounds (QUICK 1), the run of median wall time is
  reported. A real migration runs once (once per release), like a deploy.
- "Memory flat" compares Tenantry's VmHWM migrating 100 (QUICK 50) schemas with that migrating N: the
  100 are the first namespace's, migrated (--namespace) by a second release, the probe plus one more
  migration of the same shape, after the N-schema run.
"""
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for _path in (str(ROOT / "devenv"), str(ROOT / "bench")):
    if _path not in sys.path:
        sys.path.insert(0, _path)

import operator_bench as ob  # noqa: E402

from bench import migration_probe  # noqa: E402
from bench.table import Row, at_least, at_most, below, format_table, rotated, within  # noqa: E402
from localplatform import config  # noqa: E402
from localplatform.components import app_env  # noqa: E402

QUICK = os.environ.get("TENANTRY_BENCH_QUICK") == "1"
FLEET, FLEET_SMALL, STOCK_SCHEMAS = (200, 50, 40) if QUICK else (1000, 100, 100)
PARALLEL = 4  # Tenantry's --parallel and stock's TENANT_MULTIPROCESSING_MAX_PROCESSES: one connection budget
NOOP_TARGET_SECONDS = 30.0
SPEEDUP_TARGET = 5.0
MEMORY_TOLERANCE = 0.20
BUDGET_SECONDS = 180 if QUICK else 300  # the whole section, cleanup included
CLEANUP_RESERVE_SECONDS = 40
SAMPLE_SECONDS = 0.05
NOOP_ROUNDS = 1 if QUICK else 3  # median of these; the real migration runs once
NAMESPACES = ("fleet-a", "fleet-b")  # the first FLEET_SMALL tenants, then the rest
SECOND_PROBE_NAME = "9002_priority_two"
SECOND_PROBE = migration_probe.column_probe("priority_two")


# --- pure helpers (unit-tested in tests/unit/test_bench_helpers.py) -------------------------------

def per_schema(wall: float, startup: float, count: int) -> float:
    """Seconds per schema of a run over `count` schemas, its start-up (before the first schema) left out."""
    if count <= 0:
        raise ValueError("a run over no schemas has no time per schema")
    if not 0 <= startup <= wall:
        raise ValueError(f"start-up {startup} is outside the run's 0..{wall} s")
    return (wall - startup) / count


def extrapolated(wall: float, startup: float, count: int, to: int) -> float:
    """The wall time of the same run over `to` schemas: start-up once, then `to` times per schema."""
    return startup + per_schema(wall, startup, count) * to


def first_at(lines: Iterable[tuple[float, str]], needle: str) -> float | None:
    """When (seconds after the start) the first output line holding `needle` arrived."""
    return next((at for at, text in lines if needle in text), None)


ROLLOUT_LINE = re.compile(r"rollout to (?P<version>\w+): (?P<migrated>\d+) migrated, (?P<failed>\d+) failed, "
                          r"(?P<moved>\d+) changed meanwhile in (?P<seconds>[\d.]+) s")
SURVEY_LINE = re.compile(r"target (?P<version>\w+): (?P<current>\d+) current, (?P<behind>\d+) behind, "
                         r"(?P<failed>\d+) failed before this run")


def parse_rollout(output: str) -> dict | None:
    """migrate_tenants' last line: {"version", "migrated", "failed", "moved", "seconds"}, or None."""
    found = list(ROLLOUT_LINE.finditer(output))
    if not found:
        return None
    last = found[-1].groupdict()
    return {"version": last["version"], "seconds": float(last["seconds"]),
            **{key: int(last[key]) for key in ("migrated", "failed", "moved")}}


def parse_survey(output: str) -> dict | None:
    """migrate_tenants' first line: {"version", "current", "behind", "failed"}, or None."""
    found = SURVEY_LINE.search(output)
    if not found:
        return None
    return {"version": found["version"], **{key: int(found[key]) for key in ("current", "behind", "failed")}}


def stat_ppid(stat_line: str) -> int:
    """The parent pid from a /proc/<pid>/stat line (counted after the command name's last ')')."""
    return int(stat_line.rsplit(")", 1)[1].split()[1])


def descendants(parents: dict[int, int], root: int) -> set[int]:
    """Every pid below `root` in a {pid: parent pid} map (root itself not included)."""
    children: dict[int, list[int]] = {}
    for pid, parent in parents.items():
        children.setdefault(parent, []).append(pid)
    found: set[int] = set()
    todo = [root]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found and child != root:
                found.add(child)
                todo.append(child)
    return found


def change(measured: float, reference: float) -> float:
    """measured / reference - 1 (+0.05: 5 % more)."""
    if reference <= 0:
        raise ValueError("the reference must be above zero")
    return measured / reference - 1


def median_index(values: Sequence[float]) -> int:
    """The position of the median value (the lower one of an even count)."""
    if not values:
        raise ValueError("median of no values")
    return sorted(range(len(values)), key=lambda i: values[i])[(len(values) - 1) // 2]


def mib(kib: int) -> str:
    return f"{kib / 1024:.0f} MiB"


# --- running a command and sampling it ------------------------------------------------------------

@dataclass
class Peaks:
    main_hwm_kib: int = 0  # VmHWM of the command's own process
    tree_rss_kib: int = 0  # the largest sum of VmRSS over the command and its descendants
    tree_pss_kib: int = 0  # the same with Pss (smaps_rollup): forked workers' shared pages divided among them
    processes: int = 0  # the most processes of the tree at once
    connections: int = 0  # the most backends of the database at once
    samples: int = 0


    @classmethod
    def highest(cls, all_peaks: Sequence["Peaks"]) -> "Peaks":
        return cls(**{name: max(getattr(p, name) for p in all_peaks) for name in cls.__dataclass_fields__})


@dataclass
class Measured:
    label: str
    wall: float
    returncode: int
    lines: list[tuple[float, str]] = field(default_factory=list)
    peaks: Peaks = field(default_factory=Peaks)

    @property
    def output(self) -> str:
        return "".join(text for _, text in self.lines)

    def tail(self, count: int = 15) -> str:
        return "".join(text for _, text in self.lines[-count:])


def typical(runs: Sequence[Measured]) -> Measured:
    """The run of median wall time, carrying the highest peaks of all the runs."""
    chosen = runs[median_index([run.wall for run in runs])]
    return Measured(chosen.label, chosen.wall, chosen.returncode, chosen.lines, Peaks.highest([r.peaks for r in runs]))


def _read_kib(pid: int, key: str, file: str = "status") -> int:
    try:
        return ob.vm_kib(Path(f"/proc/{pid}/{file}").read_text(), key)
    except (OSError, ValueError):  # gone, or a zombie without memory
        return 0


def _tree(root: int) -> set[int]:
    """The root and its descendants: children have higher pids than their parent (until pids wrap)."""
    parents = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit() and int(entry.name) > root:
            try:
                parents[int(entry.name)] = stat_ppid(Path(f"/proc/{entry.name}/stat").read_text())
            except (OSError, ValueError, IndexError):
                continue
    return {root, *descendants(parents, root)}


def _sample(process: subprocess.Popen, db: str, peaks: Peaks, stop: threading.Event) -> None:
    import psycopg

    # From another database: the sampler's own backend is not counted.
    with psycopg.connect(config.database_url(config.PORTS["postgres"], config.DB_NAME), autocommit=True,
                         connect_timeout=10) as conn:
        while not stop.is_set() and process.poll() is None:
            tree = _tree(process.pid)
            peaks.main_hwm_kib = max(peaks.main_hwm_kib, _read_kib(process.pid, "VmHWM"))
            peaks.tree_rss_kib = max(peaks.tree_rss_kib, sum(_read_kib(pid, "VmRSS") for pid in tree))
            peaks.tree_pss_kib = max(peaks.tree_pss_kib, sum(_read_kib(pid, "Pss", "smaps_rollup") for pid in tree))
            peaks.processes = max(peaks.processes, len(tree))
            count = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s "
                                 "AND backend_type = 'client backend'", [db]).fetchone()[0]  # not autovacuum
            peaks.connections = max(peaks.connections, count)
            peaks.samples += 1
            stop.wait(SAMPLE_SECONDS)


def run_measured(label: str, argv: Sequence[str], env: dict[str, str], db: str, say: Callable[[str], None],
                 timeout: float) -> Measured:
    """Run `argv` (cwd app/) to its end, timestamping each output line and sampling its peaks; a
    non-zero exit raises with the output's tail. The process group is killed on any failure here."""
    say(f"{label}: {' '.join(argv[2:])}")
    began = time.monotonic()
    process = subprocess.Popen(list(argv), env=env, cwd=ROOT / "app", stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, start_new_session=True)
    measured = Measured(label, 0.0, -1)
    stop = threading.Event()
    errors: list[BaseException] = []

    def read() -> None:
        for line in process.stdout:
            measured.lines.append((time.monotonic() - began, line))

    def sample() -> None:
        try:
            _sample(process, db, measured.peaks, stop)
        except BaseException as exc:  # reported after the run
            errors.append(exc)

    threads = [threading.Thread(target=read, daemon=True), threading.Thread(target=sample, daemon=True)]
    for thread in threads:
        thread.start()
    try:
        measured.returncode = process.wait(timeout=timeout)
        measured.wall = time.monotonic() - began
    except BaseException:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        raise
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=5)
    if errors:
        raise RuntimeError(f"{label}: sampling failed: {errors[0]!r}")
    if measured.returncode != 0:
        raise RuntimeError(f"{label} exited {measured.returncode}:\n{measured.tail()}")
    say(f"{label}: {measured.wall:.1f} s, main peak {mib(measured.peaks.main_hwm_kib)}, "
        f"tree peak {mib(measured.peaks.tree_rss_kib)} RSS / {mib(measured.peaks.tree_pss_kib)} PSS "
        f"({measured.peaks.processes} processes), "
        f"{measured.peaks.connections} connections, {measured.peaks.samples} samples")
    return measured


# --- the scratch databases ------------------------------------------------------------------------

def schema_names(count: int) -> list[str]:
    return [f"t_fleet_{number:04d}" for number in range(count)]


def populate(count: int, first: int) -> None:
    """In a process whose Django is set up for the scratch database: `count` tenant schemas cloned
    from the template and their Tenant rows, the first `first` in NAMESPACES[0], the rest in [1]."""
    import django

    django.setup()
    from django.conf import settings
    from django.db import transaction

    from tenantry.tenancy.clone import clone_schema
    from tenantry.tenancy.models import Tenant

    began = time.monotonic()
    schemas = schema_names(count)
    for schema in schemas:
        with transaction.atomic():
            clone_schema(settings.TENANTRY_TEMPLATE_SCHEMA, schema)
    cloned = time.monotonic()
    Tenant.objects.bulk_create(
        [Tenant(schema_name=schema, resource=f"{NAMESPACES[i >= first]}/{schema.replace('_', '-')[2:]}",
                display_name=f"Fleet {schema}", state=Tenant.State.ACTIVE, plan="free", backups_enabled=True)
         for i, schema in enumerate(schemas)], batch_size=500)
    print(f"populated {count} {cloned - began:.2f} {time.monotonic() - cloned:.2f}", flush=True)


@dataclass
class Databases:
    fleet: str
    stock: str

    @classmethod
    def of(cls, bench_db: str) -> "Databases":
        return cls(f"{bench_db}_fleet", f"{bench_db}_stock")

    def all(self) -> tuple[str, str]:
        return self.fleet, self.stock


def create(db: str, count: int, first: int) -> tuple[float, float, float]:
    """A migrated scratch database holding `count` tenants; (deploy, clone, rows) seconds."""
    from localplatform.stack import migrate

    with ob.direct() as conn:
        conn.execute(f'CREATE DATABASE "{db}"')
    began = time.monotonic()
    migrate(db)
    deployed = time.monotonic() - began
    done = subprocess.run([sys.executable, "-m", "bench.fleet_bench", "populate", str(count), str(first)],
                          cwd=ROOT, env={**os.environ, **app_env(db, pooled=False)}, capture_output=True, text=True,
                          timeout=300)
    found = re.search(r"populated (\d+) ([\d.]+) ([\d.]+)", done.stdout)
    if done.returncode != 0 or not found or int(found[1]) != count:
        raise RuntimeError(f"populating {db} failed ({done.returncode}):\n{(done.stdout + done.stderr)[-2000:]}")
    return deployed, float(found[2]), float(found[3])


def drop(databases: Databases, errors: list[str]) -> None:
    """Drop both scratch databases and their cache keys (IF EXISTS: safe to call twice)."""
    ob.close_django_connections()
    for db in databases.all():
        try:
            with ob.time_limit(30):
                with ob.direct() as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        except BaseException as exc:  # the other database is still dropped
            errors.append(f"cleanup, dropping {db}: {type(exc).__name__}: {exc}")
    try:
        import redis

        client = redis.Redis.from_url(config.redis_url(), socket_timeout=5)
        for db in databases.all():
            keys = list(client.scan_iter(match=f"{db}:*", count=1000))
            if keys:
                client.delete(*keys)
    except Exception as exc:  # noqa: BLE001 - leftover cache keys expire; reported
        errors.append(f"cleanup, cache keys of the fleet databases: {type(exc).__name__}: {exc}")


# --- the figures ----------------------------------------------------------------------------------

def _settings_module(root: Path, name: str, base: str, extra: str = "") -> str:
    (root / f"{name}.py").write_text(f"from {base} import *  # noqa: F403\n{extra}")
    return name


def _env(db: str, root: Path, settings: str) -> dict[str, str]:
    return {**os.environ, **app_env(db, pooled=False), "DJANGO_SETTINGS_MODULE": settings,
            "PYTHONPATH": os.pathsep.join(p for p in [str(root), os.environ.get("PYTHONPATH", "")] if p)}


def _django(*args: str) -> list[str]:
    return [sys.executable, "-m", "django", *args]


def peaks_row(label: str, measured: Measured, budget: int | None = None) -> Row:
    p = measured.peaks
    value = (f"main {mib(p.main_hwm_kib)}, tree {mib(p.tree_rss_kib)} RSS / {mib(p.tree_pss_kib)} PSS "
             f"({p.processes} proc); "
             f"{p.connections} DB connections")
    if budget is None:
        return Row(label, value)
    return Row(label, value, f"<= {budget} connections", at_most(p.connections, budget))


@dataclass
class Stock:
    measured: Measured
    count: int

    @property
    def startup(self) -> float:
        at = first_at(self.measured.lines, "=== Starting migration")
        if at is None:
            raise RuntimeError(f"{self.measured.label}: no schema was started:\n{self.measured.tail()}")
        return at

    @property
    def per_schema(self) -> float:
        return per_schema(self.measured.wall, self.startup, self.count)

    def at(self, count: int) -> float:
        return extrapolated(self.measured.wall, self.startup, self.count, count)

    def value(self, to: int) -> str:
        return (f"{self.count} schemas in {self.measured.wall:.1f} s: {self.per_schema * 1000:.0f} ms/schema "
                f"after {self.startup:.1f} s start-up -> {self.at(to):.0f} s per {to}")


def tenantry_value(measured: Measured, count: int) -> str:
    rollout = parse_rollout(measured.output)
    inside = f"rollout {rollout['seconds']:.1f} s in-command, " if rollout else ""
    return (f"{count} schemas in {measured.wall:.1f} s wall ({inside}"
            f"{measured.wall / count * 1000:.1f} ms/schema all included)")


def check_tenantry(measured: Measured, count: int, migrated: int) -> None:
    """The run did what the figure claims: `count` schemas surveyed, `migrated` of them migrated."""
    survey, rollout = parse_survey(measured.output), parse_rollout(measured.output)
    if not survey or not rollout:
        raise RuntimeError(f"{measured.label}: unexpected output:\n{measured.tail()}")
    surveyed = survey["current"] + survey["behind"] + survey["failed"]
    if surveyed != count or rollout["migrated"] != migrated or rollout["failed"] or rollout["moved"]:
        raise RuntimeError(f"{measured.label}: surveyed {surveyed} (expected {count}), migrated {rollout['migrated']} "
                           f"(expected {migrated}), failed {rollout['failed']}, moved {rollout['moved']}")


def check_stock(measured: Measured, count: int, applied: int) -> None:
    """Every schema started; `applied` of them applied the probe (0 in a no-op)."""
    started = measured.output.count("=== Starting migration")
    # "... OK" may land on a later line when the workers' output interleaves.
    probes = measured.output.count(f"Applying projects.{migration_probe.PROBE_NAME}...")
    if started != count or probes != applied:
        raise RuntimeError(f"{measured.label}: {started} schemas started (expected {count}), the probe applied "
                           f"{probes} times (expected {applied}):\n{measured.tail()}")


def how() -> str:
    return (f"scratch databases with {FLEET} tenant schemas (Tenantry) and {STOCK_SCHEMAS} (stock django-tenants), "
            "both cloned from the deployed template in one process each; every command a subprocess "
            "(`python -m django ...`, direct connection), Django start-up included. Stock ms/schema = (wall - time "
            f"to its first '=== Starting migration') / {STOCK_SCHEMAS}, extrapolated = start-up + {FLEET} x that; "
            f"Tenantry ms/schema = wall / {FLEET}, everything included. No-op: the run of median wall time of "
            f"{NOOP_ROUNDS} interleaved round(s), who goes first rotating (peaks: the highest of any round). "
            "Real migration, once: bench/migration_probe.py's release (AddField with a default + AddIndex on "
            f"projects_project), Tenantry --parallel={PARALLEL} vs stock --executor=multiprocessing with "
            f"TENANT_MULTIPROCESSING_MAX_PROCESSES={PARALLEL} (stock on tenantry.settings_stock). Peaks sampled every "
            f"{SAMPLE_SECONDS * 1000:.0f} ms: VmHWM of the command's process (main), the largest sum of VmRSS over it "
            "and its descendants (tree RSS; forked workers' shared pages counted in each) and of Pss (smaps_rollup: "
            "shared pages divided among the processes), client backends of the database in pg_stat_activity "
            f"(autovacuum left out). Memory flat: main VmHWM migrating the {FLEET_SMALL} tenants of one namespace "
            f"(a second release: the probe + {SECOND_PROBE_NAME} of the same shape) vs all {FLEET}.")


def measure(run: ob.Run, rows: list[Row], say: Callable[[str], None]) -> None:
    """Every figure of the section, appended to `rows` as it is measured (a timeout keeps the ones so
    far); the scratch databases are dropped at the end whatever happens."""
    databases = Databases.of(run.db)
    root = Path(tempfile.mkdtemp(prefix=f"fleet-bench-{run.hex}-"))
    try:
        with ob.time_limit(BUDGET_SECONDS - CLEANUP_RESERVE_SECONDS):
            _figures(databases, root, rows, say)
    finally:
        drop(databases, run.errors)
        shutil.rmtree(root, ignore_errors=True)
        say(f"fleet: dropped {', '.join(databases.all())}")


def _figures(databases: Databases, root: Path, rows: list[Row], say: Callable[[str], None]) -> None:
    n, small, k = FLEET, FLEET_SMALL, STOCK_SCHEMAS
    began = time.monotonic()
    deploy_fleet, clone_fleet, rows_fleet = create(databases.fleet, n, small)
    deploy_stock, clone_stock, rows_stock = create(databases.stock, k, k)
    setup = time.monotonic() - began
    rows.append(Row(f"6. fleet setup: {n} + {k} tenant schemas",
                    f"{setup:.1f} s: clone {n} {clone_fleet:.1f} s ({clone_fleet / n * 1000:.0f} ms each) + rows "
                    f"{rows_fleet:.1f} s; {k}: {clone_stock + rows_stock:.1f} s; "
                    f"2 deploys {deploy_fleet + deploy_stock:.1f} s"))
    say(f"fleet: {rows[-1].value}")

    release = migration_probe.write_release(root)
    second = migration_probe.write_release(root)
    (root / second["package"].replace(".", "/") / f"{SECOND_PROBE_NAME}.py").write_text(
        SECOND_PROBE.format(previous=migration_probe.PROBE_NAME))
    stock_base = "tenantry.settings_stock"
    multiproc = f"TENANT_MULTIPROCESSING_MAX_PROCESSES = {PARALLEL}\n"
    noop_mp = _settings_module(root, f"fleet_stock_mp_{secrets.token_hex(4)}", stock_base, multiproc)
    probe_mp = _settings_module(root, f"fleet_stock_probe_mp_{secrets.token_hex(4)}", stock_base,
                                multiproc + f"MIGRATION_MODULES = {{'projects': '{release['package']}'}}\n")
    tenantry_env = _env(databases.fleet, root, "tenantry.settings")
    timeout = 150 if QUICK else 240

    # 1. No-op: every schema current. Repeatable, so NOOP_ROUNDS rounds, who goes first rotating.
    commands = {
        "tenantry": (f"Tenantry no-op, {n} schemas", _django("migrate_tenants", f"--parallel={PARALLEL}"),
                     tenantry_env, databases.fleet),
        **{executor: (f"stock no-op {executor}, {k} schemas",
                      _django("migrate_schemas", "--tenant", f"--executor={executor}", "--noinput"),
                      _env(databases.stock, root, settings), databases.stock)
           for executor, settings in (("standard", stock_base), ("multiprocessing", noop_mp))},
    }
    runs: dict[str, list[Measured]] = {key: [] for key in commands}
    for turn in range(NOOP_ROUNDS):
        for key in rotated(list(commands), turn):
            label, argv, env, db = commands[key]
            measured = run_measured(f"{label} (round {turn + 1}/{NOOP_ROUNDS})", argv, env, db, say, timeout)
            if key == "tenantry":
                check_tenantry(measured, n, 0)
            else:
                check_stock(measured, k, 0)
            runs[key].append(measured)
    noop = typical(runs.pop("tenantry"))
    rows.append(Row(f"6. fleet no-op: Tenantry migrate_tenants, {n} schemas", tenantry_value(noop, n),
                    f"< {NOOP_TARGET_SECONDS:.0f} s", below(noop.wall, NOOP_TARGET_SECONDS)))
    stock_noop = {executor: Stock(typical(measured), k) for executor, measured in runs.items()}
    for executor, stock in stock_noop.items():
        procs = f" ({PARALLEL} processes)" if executor == "multiprocessing" else ""
        rows.append(Row(f"6. fleet no-op: stock migrate_schemas {executor}{procs}", stock.value(n)))
    rows.append(Row(f"6. fleet no-op: stock / Tenantry at {n}",
                    ", ".join(f"{executor} {stock.at(n) / noop.wall:.0f}x" for executor, stock in stock_noop.items())))

    # 2. One real migration: the probe release, same N schemas, same starting state (the deployed code).
    real = run_measured(f"Tenantry probe release, {n} schemas",
                        _django("migrate_tenants", f"--parallel={PARALLEL}"),
                        _env(databases.fleet, root, release["settings"]), databases.fleet, say, timeout)
    check_tenantry(real, n, n)
    rows.append(Row(f"6. fleet migration: Tenantry --parallel={PARALLEL}, {n} schemas", tenantry_value(real, n)))
    stock_real = Stock(run_measured(f"stock probe release multiprocessing, {k} schemas",
                                    _django("migrate_schemas", "--tenant", "--executor=multiprocessing", "--noinput"),
                                    _env(databases.stock, root, probe_mp), databases.stock, say, timeout), k)
    check_stock(stock_real.measured, k, k)
    rows.append(Row(f"6. fleet migration: stock multiprocessing ({PARALLEL} processes)", stock_real.value(n)))
    speedup = stock_real.per_schema / (real.wall / n)
    rows.append(Row("6. fleet migration: stock / Tenantry per schema", f"{speedup:.1f}x",
                    f">= {SPEEDUP_TARGET:.0f}x", at_least(speedup, SPEEDUP_TARGET)))

    # 4. Memory flat: the same kind of migration over the first namespace's schemas only.
    few = run_measured(f"Tenantry second release, {small} schemas",
                       _django("migrate_tenants", f"--parallel={PARALLEL}", f"--namespace={NAMESPACES[0]}"),
                       _env(databases.fleet, root, second["settings"]), databases.fleet, say, timeout)
    check_tenantry(few, small, small)

    # 3. Peaks of every run (Tenantry's connection budget: --parallel plus its own connection).
    budget = PARALLEL + 1
    rows += [peaks_row(f"6. fleet peaks: Tenantry no-op, {n}", noop, budget),
             peaks_row(f"6. fleet peaks: stock no-op standard, {k}", stock_noop["standard"].measured),
             peaks_row(f"6. fleet peaks: stock no-op multiprocessing, {k}", stock_noop["multiprocessing"].measured),
             peaks_row(f"6. fleet peaks: Tenantry migration, {n}", real, budget),
             peaks_row(f"6. fleet peaks: stock migration multiprocessing, {k}", stock_real.measured),
             peaks_row(f"6. fleet peaks: Tenantry migration, {small}", few, budget)]
    grown = change(real.peaks.main_hwm_kib, few.peaks.main_hwm_kib)
    rows.append(Row(f"6. fleet memory flat: Tenantry main peak {small} vs {n} schemas",
                    f"{mib(few.peaks.main_hwm_kib)} vs {mib(real.peaks.main_hwm_kib)} ({grown:+.1%})",
                    f"within ±{MEMORY_TOLERANCE:.0%}", within(grown, MEMORY_TOLERANCE)))


def main() -> int:
    """The section alone, against a running `make up`."""
    run = ob.Run(started=time.monotonic())

    ob.interrupt_on_signals()
    print(f"Tenantry fleet migrations benchmark{' (QUICK)' if QUICK else ''}; budget {BUDGET_SECONDS} s")
    rows: list[Row] = []
    try:
        with ob.time_limit(BUDGET_SECONDS):
            measure(run, rows, lambda text: ob.say(run, text))
    except BaseException as exc:
        run.errors.append(f"{type(exc).__name__}: {exc}")
        rows.append(Row("6. fleet migrations", f"{type(exc).__name__}: {str(exc)[:160]}", "-", "FAILED"))
    print()
    print(format_table(rows))
    print(f"\n  6 fleet: {how()}")
    print(f"\nload average {' '.join(f'{x:.2f}' for x in os.getloadavg())}; wall time {run.elapsed():.0f} s")
    for error in run.errors:
        print(f"  - {error}")
    return 1 if run.errors else 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["populate"]:
        populate(int(sys.argv[2]), int(sys.argv[3]))
    else:
        sys.exit(main())
