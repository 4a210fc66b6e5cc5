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
from dataclasses import dataclass
from pathlib import Path

from bench.runner import QUICK
from bench.table import Row, at_least, hit_ratio, largest_passing
from bench.webstack import Stack, write_prepared
from loadtest.profiles import PROFILES
from localplatform import config

P95_LIMIT_MS = 200
MAX_ERROR_RATIO = 0.01
USERS_TARGET = 1000
HIT_RATIO_TARGET = 0.95
RAMP_SECONDS = 5
SECONDS = 8.0 if QUICK else 15.0  # measured per step, after the ramp
LOAD_PROFILE_SECONDS = 15.0 if QUICK else 60.0  # the load profile's step: long enough for a warm cache
# Printed under the table: what the section's figures include, with this run's settings.
HOW = (f"loadtest/locustfile.py scenarios (anonymous 2 : members 3 : API clients 2, think time 0.5-2 s), "
       f"each member/API user with a prepared account, session and token; {RAMP_SECONDS} s ramp, then "
       f"{SECONDS:g} s measured ({LOAD_PROFILE_SECONDS:g} s at the load profile's {PROFILES['load'].users} users; "
       f"--reset-stats); p95 over every request but password-hashing ones; a step passes with p95 < "
       f"{P95_LIMIT_MS} ms and <= {MAX_ERROR_RATIO:.0%} errors; cache ratio from the bench's own Redis "
       "(INFO stats) before and after the load-profile step, its ramp included; every member's first "
       "dashboard is a miss, and each project write makes the tenant's cached figures stale for all.")


@dataclass
class Step:
    users: int
    requests: int
    failures: int
    rps: float
    p95_ms: float | None
    hit_ratio: float | None = None

    @property
    def ok(self) -> bool:
        return (self.p95_ms is not None and self.p95_ms < P95_LIMIT_MS
                and self.failures <= MAX_ERROR_RATIO * max(self.requests, 1))


def redis_counters(stack: Stack) -> tuple[int, int]:
    import redis

    info = redis.Redis.from_url(stack.redis_url(), socket_timeout=5).info("stats")
    return int(info["keyspace_hits"]), int(info["keyspace_misses"])


def run_step(stack: Stack, users: int, seconds: float, accounts: list[dict], report_dir: Path) -> Step:
    """One Locust run with accounts no earlier step used (a log-out there ended their session);
    statistics are reset once every user has started (--reset-stats)."""
    prepared = write_prepared(accounts, report_dir / f"users-{users}-accounts.json")
    argv = [str(Path(sys.executable).with_name("locust")), "-f", str(config.ROOT / "loadtest" / "locustfile.py"),
            "--headless", "--only-summary", "--host", f"http://{config.HOST}:{stack.port('tenantry')}",
            "--users", str(users), "--spawn-rate", str(max(1, users // RAMP_SECONDS)),
            "--run-time", f"{int(RAMP_SECONDS + seconds)}s", "--reset-stats", "--stop-timeout", "3",
            "--prepared-users", str(prepared), "--csv", str(report_dir / f"users-{users}"),
            "--logfile", str(report_dir / f"users-{users}.log"), "--slo-p95-ms", str(P95_LIMIT_MS)]
    before = redis_counters(stack)
    done = subprocess.run(argv, cwd=config.ROOT, capture_output=True, text=True, timeout=RAMP_SECONDS + seconds + 90,
                          env={**os.environ, "PYTHONPATH": str(config.ROOT)})
    after = redis_counters(stack)
    summary = next((line for line in done.stdout.splitlines() if line.startswith("SLO SUMMARY ")), None)
    if summary is None:
        raise RuntimeError(f"Locust with {users} users gave no summary (exit {done.returncode}): "
                           f"{done.stderr[-1500:]}")
    figures = json.loads(summary.removeprefix("SLO SUMMARY "))
    return Step(users, figures["requests"], figures["failures"], figures["rps"], figures["p95_ms"],
                hit_ratio(*before, *after))


def step_users() -> list[int]:
    load = PROFILES["load"].users
    steps = [25, 50, load, 200, 400, 700, USERS_TARGET, 1500]
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


def rows(steps: list[Step]) -> list[Row]:
    out = []
    load_users = PROFILES["load"].users
    at_load = next((s for s in steps if s.users == load_users), None)
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
