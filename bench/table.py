"""Pure helpers of `make bench`: verdicts against the issue's targets, the one table it prints and
the exit code that table gives (unit-tested in tests/unit/test_bench_helpers.py)."""
import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

VERDICTS = ("PASS", "MISS", "info", "FAILED")


@dataclass(frozen=True)
class Row:
    label: str
    value: str
    target: str = "-"  # "-": a figure without a target
    verdict: str = "info"  # PASS, MISS, info, or FAILED (the measurement itself failed)

    def __post_init__(self) -> None:
        # Checked where a row is made, so no figure can print a target without saying whether it met it.
        if self.verdict not in VERDICTS:
            raise ValueError(f"{self.label!r}: verdict {self.verdict!r} is not one of {', '.join(VERDICTS)}")
        if self.verdict != "FAILED" and (self.target != "-") != (self.verdict in ("PASS", "MISS")):
            raise ValueError(f"{self.label!r}: a row with a target is PASS or MISS, one without is info "
                             f"(target {self.target!r}, verdict {self.verdict!r})")


def at_least(measured: float, target: float) -> str:
    return "PASS" if measured >= target else "MISS"


def at_most(measured: float, target: float) -> str:
    return "PASS" if measured <= target else "MISS"


def below(measured: float, target: float) -> str:
    return "PASS" if measured < target else "MISS"


def within(change: float, tolerance: float) -> str:
    """A relative change (+0.05: 5 % more) inside +-tolerance."""
    return "PASS" if abs(change) <= tolerance else "MISS"


def change(measured: float, reference: float) -> float:
    """measured / reference - 1 (+0.05: 5 % more)."""
    if reference <= 0:
        raise ValueError("the reference must be above zero")
    return measured / reference - 1


def median(values: Sequence[float]) -> float:
    if not values:
        raise ValueError("median of no values")
    return statistics.median(values)


def percentile(values: Iterable[float], q: float) -> float:
    """The q-th percentile (0..100) with linear interpolation between closest ranks (numpy's default)."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("percentile of no values")
    if not 0 <= q <= 100:
        raise ValueError(f"percentile {q} is outside 0..100")
    position = (len(ordered) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


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


def by_section(rows: Iterable[Row]) -> list[Row]:
    """The issue's order, by the number a label starts with; a row keeps its place within its section,
    so sections may report in whatever order they run."""
    return sorted(rows, key=lambda row: row.label.split(".", 1)[0])


def format_table(rows: Sequence[Row]) -> str:
    fields = ("label", "value", "target", "verdict")
    lines = [("figure", "measured", "target", "verdict"), *([getattr(r, f) for f in fields] for r in rows)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(fields))]

    def line(cells: Sequence[str]) -> str:
        return " | ".join(f"{cell:<{w}}" for cell, w in zip(cells, widths, strict=True)).rstrip()

    rule = "-" * (sum(widths) + 3 * (len(widths) - 1))
    return "\n".join([rule, line(lines[0]), rule, *(line(cells) for cells in lines[1:]), rule])


def exit_code(rows: Iterable[Row], errors: Sequence[str], strict: bool) -> int:
    """1 when something could not be measured (an error, a FAILED row): the figures are incomplete.
    A MISS is a measurement that worked; it fails the run only when `strict` asks targets to gate."""
    verdicts = {row.verdict for row in rows}
    if errors or "FAILED" in verdicts:
        return 1
    return 1 if strict and "MISS" in verdicts else 0
