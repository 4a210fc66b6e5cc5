"""`make bench`: every figure of the benchmark issue in one table, each comparison measured side by
side in this run (python -m bench, against a running `make up`).

Order: a fresh database (bench/operator_bench.py), provisioning figures with its own operator, then
the web figures against private gunicorns, PgBouncer and Redis (bench/webstack.py): the request path
against stock django-tenants and plain Django (bench/request_path.py), queries per view
(bench/queries.py), then capacity and cache hit ratio under the loadtest scenarios
(bench/capacity.py), then fleet migrations against stock django-tenants' migrate_schemas on scratch
databases of their own (bench/fleet_bench.py). Everything the run made is removed at the end, on
failure and Ctrl-C too.

TENANTRY_BENCH_QUICK=1 shortens every measurement (for development; the figures get noisier);
TENANTRY_BENCH_SKIP_OPERATOR=1 leaves out the provisioning figures.
"""
import os
import re
import signal
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "devenv"), str(ROOT / "bench")]

import operator_bench as ob  # noqa: E402

from bench import capacity, fleet_bench, queries, request_path, webstack  # noqa: E402
from bench.table import Row, format_table  # noqa: E402
from localplatform import config, proc  # noqa: E402
from localplatform.components import infrastructure  # noqa: E402

QUICK = os.environ.get("TENANTRY_BENCH_QUICK") == "1"
SKIP_OPERATOR = os.environ.get("TENANTRY_BENCH_SKIP_OPERATOR") == "1"
ROUNDS, SECONDS = (1, 2.0) if QUICK else (5, 4.0)
CAPACITY_SECONDS = 8.0 if QUICK else 15.0
LOAD_PROFILE_SECONDS = 15.0 if QUICK else 60.0
WEB_BUDGET_SECONDS = 240 if QUICK else 600


class Section:
    """One benchmark section under a hard time limit; a failure becomes a FAILED row, the run goes on."""

    def __init__(self, run: ob.Run, rows: list[Row], hows: list[tuple[str, str]]):
        self.run, self.rows, self.hows = run, rows, hows

    def __call__(self, label: str, seconds: float, body) -> object:
        try:
            with ob.time_limit(seconds):
                return body()
        except BaseException as exc:
            self.run.errors.append(f"{label}: {type(exc).__name__}: {exc}")
            self.rows.append(Row(label, f"{type(exc).__name__}: {str(exc)[:160]}", "-", "FAILED"))
            ob.say(self.run, f"FAILED {label}: {type(exc).__name__}: {exc}")
            if isinstance(exc, KeyboardInterrupt | ob.Interrupted):
                raise
            if not isinstance(exc, ob.BenchTimeout):
                traceback.print_exception(exc, limit=6, file=sys.stdout)
            return None


def web_figures(run: ob.Run, stack: webstack.Stack, section: Section) -> None:
    deadline = time.monotonic() + WEB_BUDGET_SECONDS
    say = lambda text: ob.say(run, text)  # noqa: E731
    report_dir = config.LOCAL / "bench" / run.hex
    report_dir.mkdir(parents=True, exist_ok=True)
    accounts: list[dict] = []

    def prepare() -> bool:
        webstack.prepare_tenant(stack)
        accounts.extend(webstack.prepare_accounts(stack, capacity.accounts_needed(QUICK)))
        webstack.plain_search_path(stack)
        webstack.start_servers(stack, ["tenantry", "stock", "plain", "hello"], ob.free_port)
        say(f"servers up: {', '.join(f'{k} :{c.port}' for k, c in stack.servers.items())}")
        return True

    if not section("web: tenant, accounts and servers", 150, prepare):
        return
    measured = section("1-2. request path", max(30, deadline - time.monotonic() - 120),
                       lambda: request_path.measure(stack, ROUNDS, SECONDS, say))
    if measured:
        section.rows.extend(request_path.rows(*measured, ROUNDS, SECONDS))
        section.hows.append(("1-2", request_path.how(ROUNDS, SECONDS)))
    counted = section("4. queries per view", 60, lambda: queries.count(stack))
    if counted:
        section.rows.extend(queries.rows(counted))
        section.hows.append(("4 queries", queries.HOW))
    steps = section("5. capacity", max(30, deadline - time.monotonic()),
                    lambda: capacity.measure(stack, accounts, report_dir, CAPACITY_SECONDS, LOAD_PROFILE_SECONDS,
                                             QUICK, deadline, say))
    if steps is not None:
        section.rows.extend(capacity.rows(steps))
        section.hows.append(("4 cache, 5", f"{capacity.how(CAPACITY_SECONDS, LOAD_PROFILE_SECONDS)} "
                                           f"Locust reports: {report_dir}"))


def fleet_figures(run: ob.Run, section: Section) -> None:
    section("6. fleet migrations", fleet_bench.BUDGET_SECONDS,
            lambda: fleet_bench.measure(run, section.rows, lambda text: ob.say(run, text)))
    section.hows.append(("6 fleet", fleet_bench.how()))


def provisioning_label(label: str) -> str:
    """operator_bench's own numbering ("2b. 100 Tenants at once") under the issue's section 3."""
    return "3. provisioning: " + re.sub(r"^\d+(-\d+)?[a-z]?\. ", "", label)


def provisioning_rows(run: ob.Run) -> list[Row]:
    return [Row(provisioning_label(f.label), f.value, "-", "FAILED" if f.value == "FAILED" else "info")
            for f in run.figures]


def by_section(rows: list[Row]) -> list[Row]:
    """The issue's order, 1 to 5; a row keeps its place within its section."""
    return sorted(rows, key=lambda row: row.label.split(".", 1)[0])


def main() -> int:
    run = ob.Run(started=time.monotonic())

    ob.interrupt_on_signals()
    print(f"Tenantry benchmark{' (QUICK: shortened measurements)' if QUICK else ''}")
    ob.machine_facts(run)
    stack = webstack.Stack(hex=run.hex, db=run.db)
    web_rows: list[Row] = []
    hows: list[tuple[str, str]] = []
    created_db = touched_namespace = fleet_started = False
    try:
        missing = [c.title for c in infrastructure() if proc.read_pid(c.name) is None or not c.ready()]
        if missing:
            raise RuntimeError(f"the platform is not up ({', '.join(missing)}); run `make up` first")
        with ob.time_limit(60):
            webstack.start_backing(stack, ob.free_port)
        created_db = True
        ob.setup_database(run)
        ob.figure_schemas(run, redis_url=stack.redis_url())
        if not SKIP_OPERATOR:
            touched_namespace = True
            ob.figure_operator(run)
            if run.operator_name:  # idle from here on, but its CPU must not blur the web figures
                proc.stop(run.operator_name)
        web_figures(run, stack, Section(run, web_rows, hows))
        fleet_started = True
        fleet_figures(run, Section(run, web_rows, hows))
    except (KeyboardInterrupt, ob.Interrupted) as exc:
        run.errors.append(f"interrupted ({type(exc).__name__}); partial results below")
    except BaseException as exc:
        run.errors.append(f"setup: {type(exc).__name__}: {exc}")
        traceback.print_exc(file=sys.stdout)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGINT, lambda *_: print("  (cleaning up, please wait)", flush=True))
        signal.signal(signal.SIGTERM, lambda *_: print("  (cleaning up, please wait)", flush=True))
        try:
            with ob.time_limit(60):
                webstack.stop_everything(stack)
        except BaseException as exc:
            run.errors.append(f"cleanup, stopping the bench servers: {exc}")
        ob.cleanup(run, created_db, touched_namespace)
        if fleet_started:  # its section drops its databases itself; this only catches an interrupted drop
            fleet_bench.drop(fleet_bench.Databases.of(run.db), run.errors)
    rows = by_section(provisioning_rows(run) + web_rows)
    print()
    print(format_table(rows or [Row("(no figures)", "")]))
    print("\nhow each figure was measured:")
    for figure in run.figures:
        print(f"  {provisioning_label(figure.label)}: {figure.how}")
    for key, text in hows:
        print(f"  {key}: {text}")
    print(f"\nmachine: {os.cpu_count()} cores shared with other users; load average at the end "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}; wall time {run.elapsed():.0f} s")
    if run.errors:
        print("\nerrors:")
        for error in run.errors:
            print(f"  - {error}")
    return 1 if run.errors else 0


if __name__ == "__main__":
    sys.exit(main())
