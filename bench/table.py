"""Pure helpers of `make bench`: verdicts against the issue's targets and the one table it prints
(unit-tested in tests/unit/test_bench_helpers.py)."""
import statistics
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    label: str
    value: str
    target: str = "-"  # "-": a figure without a target
    verdict: str = "info"  # PASS, MISS, info, or FAILED (the measurement itself failed)


def at_least(measured: float, target: float) -> str:
    return "PASS" if measured >= target else "MISS"


def at_most(measured: float, target: float) -> str:
    return "PASS" if measured <= target else "MISS"


def below(measured: float, target: float) -> str:
    return "PASS" if measured < target else "MISS"


def within(change: float, tolerance: float) -> str:
    """A relative change (+0.05: 5 % more) inside +-tolerance."""
    return "PASS" if abs(change) <= tolerance else "MISS"


def median(values: Sequence[float]) -> float:
    if not values:
        raise ValueError("median of no values")
    return statistics.median(values)


def rotated(items: Sequence, turn: int) -> list:
    """`items` starting at position `turn`: who goes first changes every round, so drifting machine
    load does not always hit the same side."""
    if not items:
        return []
    turn %= len(items)
    return [*items[turn:], *items[:turn]]


def hit_ratio(hits_before: int, misses_before: int, hits_after: int, misses_after: int) -> float | None:
    """Redis keyspace hits / (hits + misses) between two INFO samples; None if nothing was read."""
    hits, misses = hits_after - hits_before, misses_after - misses_before
    if hits < 0 or misses < 0:
        raise ValueError("the counters went backwards: Redis restarted between the samples")
    return hits / (hits + misses) if hits + misses else None


def largest_passing(steps: Sequence[tuple[int, float | None]], limit_ms: float) -> int | None:
    """The most users among the steps, tried in increasing order, before the first whose p95 reached
    `limit_ms` (or gave no figure); None if even the first step missed."""
    best = None
    for users, p95 in steps:
        if p95 is None or p95 >= limit_ms:
            break
        best = users
    return best


def format_table(rows: Sequence[Row]) -> str:
    header = Row("figure", "measured", "target", "verdict")
    widths = [max(len(getattr(r, f)) for r in [header, *rows]) for f in ("label", "value", "target", "verdict")]

    def line(r: Row) -> str:
        return " | ".join(f"{getattr(r, f):<{w}}" for f, w in zip(("label", "value", "target", "verdict"), widths,
                                                                  strict=True)).rstrip()

    rule = "-" * (sum(widths) + 3 * (len(widths) - 1))
    return "\n".join([rule, line(header), rule, *(line(r) for r in rows), rule])
