"""Which thresholds a finished run broke: pure functions over Locust's per-request statistics.

Nothing here imports Locust: importing it monkey-patches the interpreter with gevent, which the unit
tests (and the benchmark's main process) must not get.
"""
import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from loadtest.profiles import Thresholds

# Request names starting with this are the password-hashing ones (see loadtest.profiles).
AUTH_PREFIX = "auth:"


@dataclass(frozen=True)
class Entry:
    """One Locust request name's counts: response_times maps rounded milliseconds to a count."""
    name: str
    requests: int
    failures: int
    response_times: dict[int, int]


def p95_ms(entries: Iterable[Entry]) -> float | None:
    """The 95th percentile over several request names together, or None without requests."""
    merged: Counter[int] = Counter()
    for entry in entries:
        merged.update(entry.response_times)
    rank, seen = math.ceil(0.95 * sum(merged.values())), 0
    for milliseconds in sorted(merged):  # nearest rank over Locust's rounded response times
        seen += merged[milliseconds]
        if seen >= rank > 0:
            return milliseconds
    return None


def broken(entries: list[Entry], thresholds: Thresholds) -> list[str]:
    """One sentence per broken threshold, naming it, its limit and the measured value."""
    problems = []
    requests = sum(e.requests for e in entries)
    failures = sum(e.failures for e in entries)
    if requests == 0:
        return ["no requests were made: the run measured nothing"]
    ratio = failures / requests
    if ratio > thresholds.max_error_ratio:
        problems.append(f"error ratio {ratio:.4f} ({failures}/{requests}) is above max_error_ratio "
                        f"{thresholds.max_error_ratio}")
    groups = (("p95_ms", thresholds.p95_ms, [e for e in entries if not e.name.startswith(AUTH_PREFIX)]),
              ("auth_p95_ms", thresholds.auth_p95_ms, [e for e in entries if e.name.startswith(AUTH_PREFIX)]))
    for label, limit, group in groups:
        measured = p95_ms(group)
        if measured is not None and measured > limit:
            problems.append(f"{label}: p95 {measured:.0f} ms is above {limit:g} ms "
                            f"({sum(e.requests for e in group)} requests)")
    return problems
