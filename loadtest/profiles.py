"""Every load profile in one place: how many users, how fast they arrive, how long they stay, and
the thresholds that decide whether the run passed.

Thresholds are split because password hashing is slow on purpose (Argon2id, tens of milliseconds
of CPU and 19 MiB per sign-up, log-in or token request): one p95 for those, one for everything else,
so the product's latency SLO (p95 under 200 ms) is not blurred by a cost it chose to pay.
`smoke` checks correctness under a little concurrency while the rest of the test suite shares the
machine, so its latency bound is looser than the SLO; `load` and `soak` hold the SLO itself.
"""
from dataclasses import dataclass


@dataclass(frozen=True)
class Thresholds:
    p95_ms: float  # every request except the password-hashing ones
    auth_p95_ms: float  # sign-up, log-in and API token requests
    max_error_ratio: float  # failed requests / all requests


@dataclass(frozen=True)
class Profile:
    name: str
    users: int
    spawn_rate: float  # users started per second
    run_time: str  # Locust's --run-time syntax: 40s, 5m, 1h
    thresholds: Thresholds


PROFILES = {
    profile.name: profile
    for profile in (
        Profile("smoke", users=10, spawn_rate=5, run_time="40s",
                thresholds=Thresholds(p95_ms=500, auth_p95_ms=3000, max_error_ratio=0.01)),
        Profile("load", users=100, spawn_rate=10, run_time="3m",
                thresholds=Thresholds(p95_ms=200, auth_p95_ms=2000, max_error_ratio=0.01)),
        Profile("soak", users=50, spawn_rate=5, run_time="30m",
                thresholds=Thresholds(p95_ms=200, auth_p95_ms=2000, max_error_ratio=0.001)),
    )
}
