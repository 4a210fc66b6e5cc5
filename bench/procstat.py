"""CPU and memory of processes and of the machine, read from /proc: the benchmark measures processes
it started (the operator, migration commands) beside other users' load, so it reads their own
counters instead of asking the machine how busy it is.

The parsers take the text of a /proc file and are unit-tested in tests/unit/test_bench_helpers.py;
the readers around them take a pid.
"""
import os
import time
from pathlib import Path

from testkit.polling import TimedOut, wait_for

CLK_TCK = os.sysconf("SC_CLK_TCK")


def stat_fields(stat_line: str) -> list[str]:
    """The fields of a /proc/<pid>/stat line after the command name: the name is in parentheses and
    may itself hold spaces and parentheses, so the fields are those after its last ')'. The first
    one is the state, field 3 of proc(5)."""
    return stat_line.rsplit(")", 1)[1].split()


def cpu_ticks(stat_line: str) -> int:
    """utime + stime (clock ticks, all threads) from a /proc/<pid>/stat line."""
    fields = stat_fields(stat_line)
    return int(fields[11]) + int(fields[12])  # fields 14 and 15 of proc(5), counted from 1


def stat_ppid(stat_line: str) -> int:
    """The parent pid from a /proc/<pid>/stat line (field 4 of proc(5))."""
    return int(stat_fields(stat_line)[1])


def vm_kib(status_text: str, key: str = "VmRSS") -> int:
    """A `VmRSS:  123456 kB` style value from /proc/<pid>/status (or meminfo, smaps_rollup), in KiB."""
    for line in status_text.splitlines():
        if line.startswith(f"{key}:"):
            return int(line.split()[1])
    raise ValueError(f"{key} is not in the status text")


def cpu_percent(cpu_seconds: float, wall_seconds: float) -> float:
    """CPU time as a percentage of one core over a wall-clock window."""
    if wall_seconds <= 0:
        raise ValueError("the window must be longer than zero")
    return 100 * cpu_seconds / wall_seconds


def descendants(parents: dict[int, int], root: int) -> set[int]:
    """Every pid below `root` in a {pid: parent pid} map (root itself not included)."""
    children: dict[int, list[int]] = {}
    for pid, parent in parents.items():
        children.setdefault(parent, []).append(pid)
    found: set[int] = set()
    todo = [root]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found and child != root:
                found.add(child)
                todo.append(child)
    return found


def process_cpu_seconds(pid: int) -> float:
    return cpu_ticks(Path(f"/proc/{pid}/stat").read_text()) / CLK_TCK


def process_mib(pid: int, key: str = "VmRSS") -> float:
    return vm_kib(Path(f"/proc/{pid}/status").read_text(), key) / 1024


def process_kib(pid: int, key: str, file: str = "status") -> int:
    """Like process_mib, but 0 for a process that is gone or a zombie without memory: a sampler
    summing over a process tree meets both."""
    try:
        return vm_kib(Path(f"/proc/{pid}/{file}").read_text(), key)
    except (OSError, ValueError):
        return 0


def process_tree(root: int) -> set[int]:
    """The root and its descendants. Only pids above the root are read: children have higher pids
    than their parent (until pids wrap), and a full /proc scan every sample would cost more."""
    parents = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit() and int(entry.name) > root:
            try:
                parents[int(entry.name)] = stat_ppid(Path(f"/proc/{entry.name}/stat").read_text())
            except (OSError, ValueError, IndexError):
                continue
    return {root, *descendants(parents, root)}


def machine_busy_cores(before: list[int], after: list[int]) -> float:
    """Cores' worth of non-idle time between two /proc/stat 'cpu' samples."""
    delta = [b - a for a, b in zip(before, after, strict=True)]
    total = sum(delta)
    idle = delta[3] + delta[4]  # idle + iowait
    return (os.cpu_count() or 1) * (total - idle) / total if total else 0.0


def machine_cpu_sample() -> list[int]:
    return [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]


def wait_until_idle(pid: int, fraction: float, timeout: float) -> tuple[bool, float]:
    """Wait until `pid` spends under `fraction` of a core over one second; (idle, seconds waited).
    A process still busy at the end is reported, not raised: its figure is read anyway and says so."""
    def quiet() -> bool:
        before, began = process_cpu_seconds(pid), time.monotonic()
        time.sleep(1.0)
        return (process_cpu_seconds(pid) - before) / (time.monotonic() - began) < fraction

    began = time.monotonic()
    try:
        wait_for(quiet, f"pid {pid} under {fraction:.0%} of a core", timeout, every=0)
    except TimedOut:
        return False, time.monotonic() - began
    return True, time.monotonic() - began
