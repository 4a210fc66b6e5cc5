"""Load that runs beside what a test, a benchmark or a fault does: threads started by `with` and
stopped at its end."""
import threading
from collections.abc import Callable


class Background:
    def __init__(self, targets: list[Callable[[], None]], join_seconds: float = 30):
        self.join_seconds = join_seconds
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=target, daemon=True) for target in targets]

    def running(self) -> bool:
        return not self._stop.is_set()

    def pause(self, seconds: float) -> None:
        """Sleep between requests, but wake at once when the `with` block ends."""
        self._stop.wait(seconds)

    def __enter__(self):
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(self.join_seconds)
