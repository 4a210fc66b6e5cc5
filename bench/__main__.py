"""`make bench`: every figure of the benchmark issue in one table, each comparison measured side by
side in this run (`python -m bench [--strict]`, against a running `make up`). This is the one
entry point: every section below is a module this run calls.

Order: a fresh database (bench/runner.py), provisioning figures (bench/schemas.py, then
bench/provisioning.py with its own operator), then the web figures against private gunicorns,
PgBouncer and Redis (bench/webstack.py): the request path against stock django-tenants and plain
Django (bench/request_path.py), queries per view (bench/queries.py), then capacity and cache hit
ratio under the loadtest scenarios (bench/capacity.py), the analytics page with and without the
streaming replica under write load (bench/replica_reads.py), then fleet migrations against stock
django-tenants' migrate_schemas on scratch databases of their own (bench/fleet_bench.py).
Everything the run made is removed at the end, on failure and Ctrl-C too.

TENANTRY_BENCH_QUICK=1 shortens every measurement (for development; the figures get noisier);
TENANTRY_BENCH_SKIP_OPERATOR=1 leaves out the operator's provisioning figures.
"""
import argparse
import os
import sys
import time
import traceback

from bench import (
    capacity,
    fleet_bench,
    fleet_databases,
    provisioning,
    queries,
    replica_reads,
    request_path,
    webstack,
)
from bench.runner import (
    QUICK,
    Interrupted,
    Run,
    be_patient,
    drop_database,
    forget_cache_keys,
    interrupt_on_signals,
    machine_facts,
    report,
    setup_database,
    time_limit,
)
from bench.schemas import figure_schemas
from bench.table import exit_code
from localplatform import config, proc
from localplatform.components import infrastructure

SKIP_OPERATOR = os.environ.get("TENANTRY_BENCH_SKIP_OPERATOR") == "1"
WEB_BUDGET_SECONDS = 240 if QUICK else 600


def web_figures(run: Run, stack: webstack.Stack) -> None:
    deadline = time.monotonic() + WEB_BUDGET_SECONDS
    report_dir = config.LOCAL / "bench" / run.hex
    report_dir.mkdir(parents=True, exist_ok=True)
    accounts: list[dict] = []

    def prepare() -> bool:
        webstack.prepare_tenant(stack)
        accounts.extend(webstack.prepare_accounts(stack, capacity.accounts_needed()))
        webstack.plain_search_path(stack)
        webstack.start_servers(stack, ["tenantry", "stock", "plain", "hello", "replica"])
        run.say(f"servers up: {', '.join(f'{k} :{c.port}' for k, c in stack.servers.items())}")
        return True

    if not run.attempt("web: tenant, accounts and servers", 150, prepare):
        return
    run.section("1-2. request path", max(30, deadline - time.monotonic() - 120),
                lambda: request_path.rows(*request_path.measure(stack, run.say)), ("1-2", request_path.HOW))
    run.section("4. queries per view", 60, lambda: queries.rows(queries.count(stack)), ("4 queries", queries.HOW))
    run.section("7. analytics with a replica", 120,
                lambda: replica_reads.rows(replica_reads.measure(stack, accounts, run.say)),
                ("7 replica", replica_reads.HOW))
    run.section("5. capacity", max(30, deadline - time.monotonic()),
                lambda: capacity.rows(capacity.measure(stack, accounts, report_dir, deadline, run.say)),
                ("4 cache, 5", f"{capacity.HOW} Locust reports: {report_dir}"))


def cleanup(run: Run, stack: webstack.Stack, created_db: bool, touched_namespace: bool, fleet_started: bool) -> None:
    print(f"cleanup ({run.elapsed():.0f} s in):", flush=True)
    run.cleanup_step("stopping the bench servers", 60, lambda: webstack.stop_everything(stack))
    provisioning.remove(run, namespace=touched_namespace)
    if created_db:
        run.cleanup_step("dropping the database", 30, lambda: drop_database(run.db))
        run.cleanup_step("deleting cache keys", 10, lambda: forget_cache_keys(run.db))
    if fleet_started:  # its section drops its databases itself; this only catches an interrupted drop
        fleet_databases.drop(run, fleet_databases.Databases.of(run.db))
    failed = [e for e in run.errors if e.startswith("cleanup")]
    summary = (f"INCOMPLETE ({len(failed)} step(s) failed, see errors): check namespace {run.namespace} and "
               f"database {run.db}" if failed else
               f"done: operator stopped, namespace {run.namespace} deleting, database {run.db} dropped")
    log = proc.log_file(run.operator_name) if run.operator_name else "-"
    print(f"  {summary} (operator log kept: {log})", flush=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Every figure of `make bench` in one table, against a running `make up`. "
                    "Verdicts: PASS and MISS compare a figure with its target, info has no target, FAILED "
                    "means the measurement itself failed. The exit code is 1 when anything FAILED or went "
                    "wrong (cleanup included).")
    parser.add_argument("--strict", action="store_true",
                        help="also exit 1 when any figure MISSes its target (without it, a MISS is reported and "
                             "the exit code ignores it)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    run = Run(started=time.monotonic())
    interrupt_on_signals()
    print(f"Tenantry benchmark{' (QUICK: shortened measurements)' if QUICK else ''}")
    machine_facts(run)
    stack = webstack.Stack(hex=run.hex, db=run.db)
    created_db = touched_namespace = fleet_started = False
    try:
        missing = [c.title for c in infrastructure() if proc.read_pid(c.name) is None or not c.ready()]
        if missing:
            raise RuntimeError(f"the platform is not up ({', '.join(missing)}); run `make up` first")
        with time_limit(60):
            webstack.start_backing(stack)
        created_db = True  # from here on, cleanup tries to drop it (IF EXISTS)
        setup_database(run)
        figure_schemas(run, redis_url=stack.redis_url())
        if not SKIP_OPERATOR:
            touched_namespace = True
            provisioning.figure_operator(run)
            if run.operator_name:  # idle from here on, but its CPU must not blur the web figures
                proc.stop(run.operator_name)
        web_figures(run, stack)
        fleet_started = True
        fleet_bench.figures(run)
    except (KeyboardInterrupt, Interrupted) as exc:
        run.errors.append(f"interrupted ({type(exc).__name__}); partial results below")
    except BaseException as exc:
        run.errors.append(f"setup: {type(exc).__name__}: {exc}")
        traceback.print_exc(file=sys.stdout)
    finally:
        be_patient()
        cleanup(run, stack, created_db, touched_namespace, fleet_started)
    print(report(run))
    missed = sum(1 for row in run.rows if row.verdict == "MISS")
    if missed:
        print(f"\n{missed} figure(s) MISS their target: "
              + ("--strict makes that exit code 1" if args.strict else "reported only (--strict makes them fail)"))
    return exit_code(run.rows, run.errors, args.strict)


if __name__ == "__main__":
    sys.exit(main())
