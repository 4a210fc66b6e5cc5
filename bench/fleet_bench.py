"""Fleet migrations: Tenantry's `migrate_tenants` against stock django-tenants' `migrate_schemas
--tenant`, side by side in one run (section 6 of `make bench`).

How it is built:

- Two scratch databases of its own, migrated the way a deploy migrates them (public, template, tenants):
  `<bench db>_fleet` with N tenant schemas (1,000; QUICK 200) for Tenantry and `<bench db>_stock` with
  K (100; QUICK 40) for stock django-tenants, which takes too long per schema to run on N. Both are
  filled the same way (bench/fleet_databases.py), so both start from identical schemas, and the stock
  figures are per schema and extrapolated to N. Both databases are dropped at the end, on failure and
  on timeout too.
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
- While a command runs, its memory and the database's connections are sampled (bench/sampling.py;
  autovacuum workers, busy after 1,000 new schemas, are left out).
- The no-op runs are repeatable: 3 interleaved rounds (QUICK 1), the run of median wall time is
  reported. A real migration runs once (once per release), like a deploy.
- "Memory flat" compares Tenantry's VmHWM migrating 100 (QUICK 50) schemas with that migrating N: the
  100 are the first namespace's, migrated (--namespace) by a second release, the probe plus one more
  migration of the same shape, after the N-schema run.
"""
import os
import secrets
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench import migration_probe
from bench.fleet_databases import NAMESPACES, Databases, create, drop
from bench.migration_output import Stock, check_stock, check_tenantry, tenantry_value
from bench.runner import QUICK, Run, time_limit
from bench.sampling import SAMPLE_SECONDS, Measured, mib, run_measured, typical
from bench.table import Row, at_least, at_most, below, change, rotated, within
from localplatform.components import app_env

FLEET, FLEET_SMALL, STOCK_SCHEMAS = (200, 50, 40) if QUICK else (1000, 100, 100)
PARALLEL = 4  # Tenantry's --parallel and stock's TENANT_MULTIPROCESSING_MAX_PROCESSES: one connection budget
NOOP_TARGET_SECONDS = 30.0
SPEEDUP_TARGET = 5.0
MEMORY_TOLERANCE = 0.20
BUDGET_SECONDS = 180 if QUICK else 300  # the whole section, cleanup included
CLEANUP_RESERVE_SECONDS = 40
NOOP_ROUNDS = 1 if QUICK else 3  # median of these; the real migration runs once
SECOND_PROBE_NAME = "9002_priority_two"
SECOND_PROBE = migration_probe.column_probe("priority_two")


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


HOW = (f"scratch databases with {FLEET} tenant schemas (Tenantry) and {STOCK_SCHEMAS} (stock django-tenants), "
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


def figures(run: Run) -> None:
    """The section, as `make bench` runs it and as it runs alone."""
    run.section("6. fleet migrations", BUDGET_SECONDS, lambda: measure(run), ("6 fleet", HOW))


def measure(run: Run) -> None:
    """Every figure of the section, appended to the run's rows as it is measured (a timeout keeps the
    ones so far); the scratch databases are dropped at the end whatever happens."""
    databases = Databases.of(run.db)
    root = Path(tempfile.mkdtemp(prefix=f"fleet-bench-{run.hex}-"))
    try:
        with time_limit(BUDGET_SECONDS - CLEANUP_RESERVE_SECONDS):
            _figures(databases, root, run.rows, run.say)
    finally:
        drop(run, databases)
        shutil.rmtree(root, ignore_errors=True)
        run.say(f"fleet: dropped {', '.join(databases.all())}")


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

