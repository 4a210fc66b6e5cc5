"""CPU per request of every server behind a page, read from /proc: the load generator shares the
machine's 2 cores with them, so the machine's busy time says little about the servers; their own
process trees' counters do.

A process tree's CPU counts its live processes' own time and what their exited children left in
their cutime/cstime (a waited-for child's time moves there), so a PostgreSQL backend that ends
inside the window is not lost. The arithmetic is pure and unit-tested (tests/unit/test_servercpu.py).
"""
import os
from dataclasses import dataclass
from pathlib import Path

from bench.procstat import CLK_TCK, process_tree, stat_fields

PARTS = ("web", "PostgreSQL", "PgBouncer", "Redis")


def tree_ticks(stat_line: str) -> int:
    """utime + stime + cutime + cstime (fields 14-17 of proc(5)) from a /proc/<pid>/stat line."""
    fields = stat_fields(stat_line)
    return sum(int(value) for value in fields[11:15])


def tree_cpu_seconds(root: int) -> float:
    """CPU seconds of `root`, its live descendants and every descendant that has been waited for."""
    ticks = 0
    for pid in process_tree(root):
        try:
            ticks += tree_ticks(Path(f"/proc/{pid}/stat").read_text())
        except (OSError, ValueError, IndexError):  # gone between the listing and the read
            continue
    return ticks / CLK_TCK


def sample(roots: dict[str, int]) -> dict[str, float]:
    """{name: CPU seconds so far} for each named process tree."""
    return {name: tree_cpu_seconds(pid) for name, pid in roots.items()}


@dataclass(frozen=True)
class Breakdown:
    """Server CPU over one measured window, and the load generator's beside it."""
    cpu_seconds: dict[str, float]  # part -> CPU seconds in the window (PARTS, plus "Locust")
    wall_seconds: float
    requests: float

    def per_request_ms(self, part: str) -> float:
        return 1000 * self.cpu_seconds[part] / self.requests

    @property
    def server_seconds(self) -> float:
        return sum(self.cpu_seconds[part] for part in PARTS)

    @property
    def server_ms_per_request(self) -> float:
        return 1000 * self.server_seconds / self.requests

    @property
    def requests_per_server_cpu_second(self) -> float:
        return self.requests / self.server_seconds

    @property
    def locust_share(self) -> float:
        """The load generator's share of the machine's CPU capacity in the window."""
        return self.cpu_seconds["Locust"] / (self.wall_seconds * (os.cpu_count() or 1))

    def describe(self) -> str:
        parts = ", ".join(f"{part} {self.per_request_ms(part):.1f}" for part in PARTS)
        return f"{self.server_ms_per_request:.1f} ms ({parts})"


def breakdown(before: dict[str, float], after: dict[str, float], wall_seconds: float, rps: float) -> Breakdown:
    """The window between two samples, in which Locust reported `rps` requests per second."""
    if wall_seconds <= 0 or rps <= 0:
        raise ValueError(f"no requests measured (wall {wall_seconds:.1f} s, {rps} req/s)")
    missing = {*PARTS, "Locust"} - (set(before) & set(after))
    if missing:
        raise ValueError(f"no CPU sample of {', '.join(sorted(missing))}")
    return Breakdown({name: after[name] - before[name] for name in after}, wall_seconds, rps * wall_seconds)
