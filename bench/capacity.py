"""Figures 4b and 5: the loadtest scenarios (loadtest/locustfile.py, every user already signed in with
an account of its own) against Tenantry's gunicorn, stepping the number of concurrent users up
until p95 reaches 200 ms. The step with the `load` profile's user count also gives the cache hit
ratio: the private Redis's keyspace hits and misses before and after it.

Locust runs on the same 2 cores as gunicorn, PgBouncer, PostgreSQL and Redis: the figure is what
this machine sustains for all of them together, not the server alone.
"""
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path

from bench import servercpu
from bench.runner import QUICK
from bench.table import Row, at_least, at_most, hit_ratio, largest_passing
from bench.webstack import Stack, write_prepared
from loadtest.profiles import PROFILES
from localplatform import config, proc

P95_LIMIT_MS = 200
MAX_ERROR_RATIO = 0.01
USERS_TARGET = 150  # issue 15: three times the 50 of its day
HIT_RATIO_TARGET = 0.97
# Server CPU per request at the load profile before issue 15's cuts: this bench's own figure at the
# commit that added the measurement (web 12.8, PostgreSQL 1.9, PgBouncer 0.5, Redis 0.2 ms); the
# target is half of it.
CPU_MS_BEFORE = 15.4
CPU_MS_TARGET = CPU_MS_BEFORE / 2
RAMP_SECONDS = 5
SECONDS = 8.0 if QUICK else 15.0  # measured per step, after the ramp
LOAD_PROFILE_SECONDS = 15.0 if QUICK else 60.0  # the load profile's step: long enough for a warm cache
# Printed under the table: what the section's figures include, with this run's settings.
HOW = (f"loadtest/locustfile.py scenarios (anonymous 2 : members 3 : API clients 2, think time 0.5-2 s), "
       f"each member/API user with a prepared account, session and token; {RAMP_SECONDS} s ramp, then "
       f"{SECONDS:g} s measured ({LOAD_PROFILE_SECONDS:g} s at the load profile's {PROFILES['load'].users} users; "
       f"--reset-stats); p95 over every request but password-hashing ones; a step passes with p95 < "
       f"{P95_LIMIT_MS} ms and <= {MAX_ERROR_RATIO:.0%} errors; cache ratio from the bench's own Redis "
       "(INFO stats) before and after the load-profile step, its ramp included; server CPU from /proc "
       "(bench/servercpu.py) of the bench's gunicorn, PgBouncer and Redis and of make up's PostgreSQL, over "
       "the measured window (after the ramp), divided by Locust's requests in it.")


@dataclass
class Step:
    users: int
    requests: int
    failures: int
    rps: float
    p95_ms: float | None
    hit_ratio: float | None = None
    cpu: servercpu.Breakdown | None = None

    @property
    def ok(self) -> bool:
        return (self.p95_ms is not None and self.p95_ms < P95_LIMIT_MS
                and self.failures <= MAX_ERROR_RATIO * max(self.requests, 1))


def redis_counters(stack: Stack) -> tuple[int, int]:
    import redis

    info = redis.Redis.from_url(stack.redis_url(), socket_timeout=5).info("stats")
    return int(info["keyspace_hits"]), int(info["keyspace_misses"])


def server_roots(stack: Stack) -> dict[str, int]:
    """The process trees whose CPU a request costs: the bench's gunicorn, PgBouncer and Redis, and
    `make up`'s PostgreSQL (shared with whatever else uses it: the figure includes that)."""
    names = {"web": stack.servers["tenantry"].name, "PostgreSQL": "postgres",
             "PgBouncer": stack.pgbouncers["shared"].name, "Redis": stack.redis.name}
    roots = {part: proc.read_pid(name) for part, name in names.items()}
    down = [part for part, pid in roots.items() if pid is None]
    if down:
        raise RuntimeError(f"no running process for {', '.join(down)}")
    return roots


def run_step(stack: Stack, users: int, seconds: float, accounts: list[dict], report_dir: Path,
             during: Callable[[], AbstractContextManager] = nullcontext) -> Step:
    """One Locust run with accounts no earlier step used (a log-out there ended their session);
    statistics are reset once every user has started (--reset-stats), and the servers' CPU is read
    over the same window: from the end of the ramp to the end of the run. `during()` is entered for
    that window (make profile records there)."""
    prepared = write_prepared(accounts, report_dir / f"users-{users}-accounts.json")
    argv = [str(Path(sys.executable).with_name("locust")), "-f", str(config.ROOT / "loadtest" / "locustfile.py"),
            "--headless", "--only-summary", "--host", f"http://{config.HOST}:{stack.port('tenantry')}",
            "--users", str(users), "--spawn-rate", str(max(1, users // RAMP_SECONDS)),
            "--run-time", f"{int(RAMP_SECONDS + seconds)}s", "--reset-stats", "--stop-timeout", "3",
            "--prepared-users", str(prepared), "--csv", str(report_dir / f"users-{users}"),
            "--logfile", str(report_dir / f"users-{users}.log"), "--slo-p95-ms", str(P95_LIMIT_MS)]
    roots = server_roots(stack)
    before_cache = redis_counters(stack)
    locust = subprocess.Popen(argv, cwd=config.ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": str(config.ROOT)})
    try:
        roots["Locust"] = locust.pid
        time.sleep(RAMP_SECONDS)
        with during():
            before, began = servercpu.sample(roots), time.monotonic()
            time.sleep(seconds)
            after, wall = servercpu.sample(roots), time.monotonic() - began
        stdout, stderr = locust.communicate(timeout=RAMP_SECONDS + seconds + 90)
    finally:
        if locust.poll() is None:
            locust.kill()
            locust.wait()
    after_cache = redis_counters(stack)
    summary = next((line for line in stdout.splitlines() if line.startswith("SLO SUMMARY ")), None)
    if summary is None:
        raise RuntimeError(f"Locust with {users} users gave no summary (exit {locust.returncode}): {stderr[-1500:]}")
    figures = json.loads(summary.removeprefix("SLO SUMMARY "))
    cpu = servercpu.breakdown(before, after, wall, figures["rps"]) if figures["rps"] else None
    return Step(users, figures["requests"], figures["failures"], figures["rps"], figures["p95_ms"],
                hit_ratio(*before_cache, *after_cache), cpu)


def step_users() -> list[int]:
    load = PROFILES["load"].users
    steps = [25, 50, load, USERS_TARGET, 200, 300, 400, 700, 1000]
    return sorted({s for s in steps if not QUICK or s <= 200})


def accounts_needed() -> int:
    """Every step's users sign in with accounts no earlier step used."""
    return sum(step_users())


def measure(stack: Stack, accounts: list[dict], report_dir: Path, deadline: float, say) -> list[Step]:
    """Steps of SECONDS each, more users each time, until p95 misses past the load profile's users."""
    steps: list[Step] = []
    used = 0
    for users in step_users():
        if time.monotonic() + RAMP_SECONDS + max(SECONDS, LOAD_PROFILE_SECONDS) + 10 > deadline:
            say(f"capacity: no time left for {users} users")
            break
        step = run_step(stack, users, LOAD_PROFILE_SECONDS if users == PROFILES["load"].users else SECONDS,
                        accounts[used:used + users], report_dir)
        used += users
        steps.append(step)
        say(f"capacity: {users} users -> {step.rps:.0f} req/s, p95 {step.p95_ms} ms, "
            f"{step.failures}/{step.requests} failed, cache hits {step.hit_ratio}")
        if not step.ok and users >= PROFILES["load"].users:
            break
    return steps


def cpu_rows(at_load: Step | None, load_users: int) -> list[Row]:
    label = f"5. server CPU per request, load profile ({load_users} users)"
    if at_load is None or at_load.cpu is None:
        return [Row(label, "not measured", f"<= {CPU_MS_TARGET:.1f} ms", "FAILED")]
    cpu = at_load.cpu
    return [Row(label, f"{cpu.describe()}; before the cuts {CPU_MS_BEFORE} ms", f"<= {CPU_MS_TARGET:.1f} ms",
                at_most(cpu.server_ms_per_request, CPU_MS_TARGET)),
            Row("5. requests per server CPU-second, load profile", f"{cpu.requests_per_server_cpu_second:.0f} "
                f"(Locust's own CPU excluded: it used {cpu.locust_share:.0%} of the machine, "
                f"{cpu.per_request_ms('Locust'):.1f} ms per request)")]


def rows(steps: list[Step]) -> list[Row]:
    out = []
    load_users = PROFILES["load"].users
    at_load = next((s for s in steps if s.users == load_users), None)
    out.extend(cpu_rows(at_load, load_users))
    if at_load is None or at_load.hit_ratio is None:
        out.append(Row(f"4. cache hit ratio, load profile ({load_users} users)", "not measured",
                       f">= {HIT_RATIO_TARGET:.0%}", "FAILED"))
    else:
        out.append(Row(f"4. cache hit ratio, load profile ({load_users} users)",
                       f"{at_load.hit_ratio:.1%} (Redis keyspace hits/(hits+misses))", f">= {HIT_RATIO_TARGET:.0%}",
                       at_least(at_load.hit_ratio, HIT_RATIO_TARGET)))
    best = largest_passing([(s.users, s.p95_ms if s.ok else None) for s in steps], P95_LIMIT_MS)
    tried = ", ".join(f"{s.users}: p95 {s.p95_ms} ms, {s.rps:.0f} req/s"
                      + (f", {s.failures} failed" if s.failures else "") for s in steps)
    out.append(Row("5. most concurrent Locust users with p95 < 200 ms",
                   f"{best or 0} (Locust on the same 2 cores; steps {tried})", f">= {USERS_TARGET}",
                   at_least(best or 0, USERS_TARGET)))
    return out
