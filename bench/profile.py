"""`make profile`: where the CPU of a request goes, under the load test's mix, against `make up`.

It starts the bench's private stack (bench/webstack.py: its own database, Redis, PgBouncer and one
Tenantry gunicorn, 2 workers x 4 threads as deployed), drives the load profile's users through it
with Locust (bench/capacity.py's step) and, over the measured window:
- records every web worker with py-spy: a flame graph (web.svg) and collapsed stacks, folded into
  the top areas and functions (web-top.txt, bench/stacks.py). Only threads holding the GIL are
  sampled (--gil: time waiting on sockets is not CPU) and without pausing the workers
  (--nonblocking: pausing them to sample slowed them threefold);
- diffs pg_stat_statements of the bench database before and after: the top statements by time and
  the statements per request (statements.txt);
- reads the servers' CPU per request from /proc (bench/servercpu.py).
summary.txt has the short version. Everything lands in .local/profile/<time>/; everything the run
made is removed at the end. TENANTRY_PROFILE_SECONDS sets the window (default 40).
"""
import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bench import capacity, stacks, webstack
from bench.runner import Run, create_database, drop_database, forget_cache_keys
from loadtest.profiles import PROFILES
from localplatform import config, proc
from localplatform.components import infrastructure, venv_bin
from testkit.net import direct

SECONDS = float(os.environ.get("TENANTRY_PROFILE_SECONDS", "40"))
SAMPLES_PER_SECOND = 97  # not a divisor of common timer rates, so sampling does not beat with them
TOP_STATEMENTS = 15


@dataclass(frozen=True)
class Statement:
    query: str
    calls: int
    seconds: float
    rows: int


def statements(db: str) -> dict[int, Statement]:
    """pg_stat_statements of `db` so far, by queryid (PostgreSQL's own figures, not this run's)."""
    with direct() as conn:
        found = conn.execute(
            "SELECT s.queryid, s.query, s.calls, s.total_exec_time / 1000, s.rows FROM pg_stat_statements s "
            "JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = %s", [db]).fetchall()
    return {queryid: Statement(" ".join(query.split()), calls, seconds, rows)
            for queryid, query, calls, seconds, rows in found}


def statements_between(before: dict[int, Statement], after: dict[int, Statement]) -> list[Statement]:
    """What ran between two snapshots, most time first."""
    ran = []
    for queryid, now in after.items():
        was = before.get(queryid, Statement(now.query, 0, 0.0, 0))
        if now.calls > was.calls:
            ran.append(Statement(now.query, now.calls - was.calls, now.seconds - was.seconds, now.rows - was.rows))
    return sorted(ran, key=lambda s: -s.seconds)


def statements_report(ran: list[Statement], requests: float, top: int = TOP_STATEMENTS) -> str:
    calls = sum(s.calls for s in ran)
    seconds = sum(s.seconds for s in ran)
    lines = [f"{calls} statements in {seconds:.2f} s of execution for {requests:.0f} requests: "
             f"{calls / requests:.2f} statements and {1000 * seconds / requests:.2f} ms per request", "",
             f"{'ms total':>9} {'share':>6} {'calls':>7} {'per req':>7} {'rows/call':>9}  statement"]
    for s in ran[:top]:
        lines.append(f"{1000 * s.seconds:9.1f} {s.seconds / seconds:6.1%} {s.calls:7d} {s.calls / requests:7.2f} "
                     f"{s.rows / s.calls:9.1f}  {s.query[:200]}")
    return "\n".join(lines)


@contextlib.contextmanager
def py_spy(gunicorn_pid: int, out: Path):
    """py-spy on the gunicorn master and its workers while the block runs, twice over: a flame graph
    and the raw collapsed stacks, the second of which the report folds."""
    def record(fmt: str, target: Path) -> subprocess.Popen:
        return subprocess.Popen([venv_bin("py-spy"), "record", "--pid", str(gunicorn_pid), "--subprocesses",
                                 "--gil", "--nonblocking", "--function", "--rate", str(SAMPLES_PER_SECOND),
                                 "--format", fmt, "--output", str(target)],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    recorders = {out / "web.svg": record("flamegraph", out / "web.svg"),
                 out / "web.collapsed": record("raw", out / "web.collapsed")}
    try:
        yield
    finally:
        for target, recorder in recorders.items():
            recorder.send_signal(signal.SIGINT)  # py-spy writes its output on SIGINT
            try:
                output, _ = recorder.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                recorder.kill()
                output, _ = recorder.communicate()
            if recorder.returncode not in (0, -signal.SIGINT, 128 + signal.SIGINT) or not target.exists():
                raise RuntimeError(f"py-spy ({target.name}) failed (exit {recorder.returncode}): {output[-1500:]}")


def profile(out: Path, say) -> str:
    run = Run(started=time.monotonic())
    stack = webstack.Stack(hex=run.hex, db=run.db)
    users = PROFILES["load"].users
    try:
        create_database(run.db)
        webstack.start_backing(stack)
        webstack.setup_django(run.db, stack.redis_url())
        webstack.prepare_tenant(stack)
        accounts = webstack.prepare_accounts(stack, users)
        webstack.start_servers(stack, ["tenantry"])
        say(f"stack up: database {run.db}, gunicorn :{stack.port('tenantry')}; {users} users for "
            f"{capacity.RAMP_SECONDS} s ramp + {SECONDS:g} s recorded")
        before = statements(run.db)
        step = capacity.run_step(stack, users, SECONDS, accounts, out, during=lambda: py_spy(
            proc.read_pid(stack.servers["tenantry"].name), out))
        ran = statements_between(before, statements(run.db))
    finally:
        webstack.stop_everything(stack)
        drop_database(run.db)
        forget_cache_keys(run.db)
    if step.cpu is None:
        raise RuntimeError(f"no requests were measured ({step.requests} requests, {step.failures} failed)")
    folded = stacks.parse((out / "web.collapsed").read_text())
    (out / "web-top.txt").write_text(stacks.report(folded))
    (out / "statements.txt").write_text(statements_report(ran, step.cpu.requests))
    hits = f"{step.hit_ratio:.1%}" if step.hit_ratio is not None else "not measured"
    return "\n".join([
        f"{users} users, {SECONDS:g} s: {step.rps:.0f} req/s, p95 {step.p95_ms} ms, {step.failures} of "
        f"{step.requests} failed, cache hit ratio {hits}",
        f"server CPU per request: {step.cpu.describe()}; Locust used {step.cpu.locust_share:.0%} of the machine",
        "web workers by area (self share of GIL-holding samples): "
        + ", ".join(f"{a.name} {a.self_share:.0%}" for a in stacks.by_area(folded)[:8]), "",
        statements_report(ran, step.cpu.requests, top=5), "",
        f"files: {out}/web.svg (flame graph), web-top.txt, statements.txt"])


def main() -> int:
    missing = [c.title for c in infrastructure() if proc.read_pid(c.name) is None or not c.ready()]
    if missing:
        print(f"the platform is not up ({', '.join(missing)}): run `make up` first", file=sys.stderr)
        return 1
    out = config.LOCAL / "profile" / time.strftime("%Y%m%d-%H%M%S")
    out.mkdir(parents=True)
    summary = profile(out, lambda text: print(f"  {text}", flush=True))
    (out / "summary.txt").write_text(summary + "\n")
    print(summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
