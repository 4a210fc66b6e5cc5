"""A command run to its end the way a deploy runs it, each output line timestamped and its peaks
sampled while it runs: memory of the command and of the workers it forks, and the database
connections it holds.

A sampler thread reads every ~50 ms the VmHWM of the command's process, the sum of VmRSS over it and
its descendants (/proc; forked workers share pages, so that sum overstates them: their Pss sum is
kept beside it), and counts the database's client backends in pg_stat_activity from a connection to
another database (autovacuum workers are left out).
"""
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from bench.procstat import process_kib, process_tree
from localplatform import config
from testkit.net import direct

SAMPLE_SECONDS = 0.05


def median_index(values: Sequence[float]) -> int:
    """The position of the median value (the lower one of an even count)."""
    if not values:
        raise ValueError("median of no values")
    return sorted(range(len(values)), key=lambda i: values[i])[(len(values) - 1) // 2]


def mib(kib: int) -> str:
    return f"{kib / 1024:.0f} MiB"


@dataclass
class Peaks:
    main_hwm_kib: int = 0  # VmHWM of the command's own process
    tree_rss_kib: int = 0  # the largest sum of VmRSS over the command and its descendants
    tree_pss_kib: int = 0  # the same with Pss (smaps_rollup): forked workers' shared pages divided among them
    processes: int = 0  # the most processes of the tree at once
    connections: int = 0  # the most backends of the database at once
    samples: int = 0

    @classmethod
    def highest(cls, all_peaks: Sequence["Peaks"]) -> "Peaks":
        return cls(**{name: max(getattr(p, name) for p in all_peaks) for name in cls.__dataclass_fields__})


@dataclass
class Measured:
    label: str
    wall: float
    returncode: int
    lines: list[tuple[float, str]] = field(default_factory=list)
    peaks: Peaks = field(default_factory=Peaks)

    @property
    def output(self) -> str:
        return "".join(text for _, text in self.lines)

    def tail(self, count: int = 15) -> str:
        return "".join(text for _, text in self.lines[-count:])


def typical(runs: Sequence[Measured]) -> Measured:
    """The run of median wall time, carrying the highest peaks of all the runs."""
    chosen = runs[median_index([run.wall for run in runs])]
    return Measured(chosen.label, chosen.wall, chosen.returncode, chosen.lines, Peaks.highest([r.peaks for r in runs]))


def _sample(process: subprocess.Popen, db: str, peaks: Peaks, stop: threading.Event) -> None:
    # From another database: the sampler's own backend is not counted.
    with direct() as conn:
        while not stop.is_set() and process.poll() is None:
            tree = process_tree(process.pid)
            peaks.main_hwm_kib = max(peaks.main_hwm_kib, process_kib(process.pid, "VmHWM"))
            peaks.tree_rss_kib = max(peaks.tree_rss_kib, sum(process_kib(pid, "VmRSS") for pid in tree))
            peaks.tree_pss_kib = max(peaks.tree_pss_kib, sum(process_kib(pid, "Pss", "smaps_rollup") for pid in tree))
            peaks.processes = max(peaks.processes, len(tree))
            count = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s "
                                 "AND backend_type = 'client backend'", [db]).fetchone()[0]  # not autovacuum
            peaks.connections = max(peaks.connections, count)
            peaks.samples += 1
            stop.wait(SAMPLE_SECONDS)


def run_measured(label: str, argv: Sequence[str], env: dict[str, str], db: str, say: Callable[[str], None],
                 timeout: float) -> Measured:
    """Run `argv` (cwd app/) to its end, timestamping each output line and sampling its peaks; a
    non-zero exit raises with the output's tail. The process group is killed on any failure here."""
    say(f"{label}: {' '.join(argv[2:])}")
    began = time.monotonic()
    process = subprocess.Popen(list(argv), env=env, cwd=config.ROOT / "app", stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, start_new_session=True)
    measured = Measured(label, 0.0, -1)
    stop = threading.Event()
    errors: list[BaseException] = []

    def read() -> None:
        for line in process.stdout:
            measured.lines.append((time.monotonic() - began, line))

    def sample() -> None:
        try:
            _sample(process, db, measured.peaks, stop)
        except BaseException as exc:  # reported after the run
            errors.append(exc)

    threads = [threading.Thread(target=read, daemon=True), threading.Thread(target=sample, daemon=True)]
    for thread in threads:
        thread.start()
    try:
        measured.returncode = process.wait(timeout=timeout)
        measured.wall = time.monotonic() - began
    except BaseException:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        raise
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=5)
    if errors:
        raise RuntimeError(f"{label}: sampling failed: {errors[0]!r}")
    if measured.returncode != 0:
        raise RuntimeError(f"{label} exited {measured.returncode}:\n{measured.tail()}")
    say(f"{label}: {measured.wall:.1f} s, main peak {mib(measured.peaks.main_hwm_kib)}, "
        f"tree peak {mib(measured.peaks.tree_rss_kib)} RSS / {mib(measured.peaks.tree_pss_kib)} PSS "
        f"({measured.peaks.processes} processes), "
        f"{measured.peaks.connections} connections, {measured.peaks.samples} samples")
    return measured

