"""Keep prometheus-client's multiprocess directory correct and bounded while gunicorn recycles workers.

In multiprocess mode every worker writes its samples to `<kind>_<pid>.db` files, and the collector sums
all files it finds. A dead worker's counters must keep counting (or every recycle would look like a
counter reset), so its files cannot just be deleted; but keeping them means one more file set per
recycle, without end (`max_requests` recycles a worker every few thousand requests). Here the gunicorn
master folds a dead worker's counters, histograms and summaries into one `<kind>_archive.db` per kind
and deletes the worker's files, so the directory holds at most: the live workers' files, the master's
own, and three archives. Gauges of a dead worker describe a process that no longer exists: they go.

Folding and scraping both run in the master and share `lock`: a scrape never sees a sample both in
the archive and in the dead worker's file, or in neither, so counters never jump or go backwards.
No Django here: gunicorn's config imports this before Django is set up.
"""
import glob
import os
import threading
from pathlib import Path

from prometheus_client.mmap_dict import MmapedDict
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

ARCHIVED_KINDS = ("counter", "histogram", "summary")
lock = threading.Lock()


def archive_path(directory: str | Path, kind: str) -> Path:
    return Path(directory) / f"{kind}_archive.db"


def reset(directory: str | Path) -> None:
    """Start empty: files left by an earlier master would be counted again (prometheus-client docs)."""
    Path(directory).mkdir(parents=True, exist_ok=True)
    for stale in Path(directory).glob("*.db"):
        stale.unlink()


def fold_into_archive(dead_file: Path, archive: Path) -> None:
    """Add every sample of `dead_file` to the same sample in `archive`, then delete `dead_file`.

    Samples of counters, histogram buckets, sums and summaries are per-process partial sums, so
    adding them is exactly what the collector would have done with the two files side by side.
    """
    target = MmapedDict(str(archive))
    try:
        for key, value, timestamp, _ in MmapedDict.read_all_values_from_file(str(dead_file)):
            archived, _ = target.read_value(key)
            target.write_value(key, archived + value, timestamp)
    finally:
        target.close()
    dead_file.unlink()


def retire_worker(directory: str | Path, pid: int) -> None:
    """gunicorn's child_exit: the worker `pid` has exited (recycled, timed out, or killed)."""
    with lock:
        mark_process_dead(pid, str(directory))
        for kind in ARCHIVED_KINDS:
            dead_file = Path(directory) / f"{kind}_{pid}.db"
            if dead_file.exists():
                fold_into_archive(dead_file, archive_path(directory, kind))
        for gauge_file in glob.glob(os.path.join(str(directory), f"gauge_*_{pid}.db")):
            os.remove(gauge_file)


class ArchivingCollector(MultiProcessCollector):
    """prometheus-client's collector, reading the directory only while no worker is being folded."""

    def __init__(self, directory: str | Path):
        super().__init__(registry=None, path=str(directory))

    def collect(self):
        with lock:
            return list(super().collect())
