"""A small, bounded, threaded API load: each client alternates a project creation with a unique,
client-generated name and a one-item list, and records every request's outcome and timing."""
import http.client
import json
import threading
import time
from dataclasses import dataclass

from localplatform import config

from .ledger import Ledger


@dataclass(frozen=True)
class Writer:
    """A tenant the load writes to: its host, its schema (for the ledger check) and an API token."""
    host: str
    schema: str
    token: str


@dataclass(frozen=True)
class Sample:
    start: float
    end: float
    ok: bool
    method: str = ""
    status: int = 0  # 0: no response (connection refused, reset or timed out)


class Load:
    """Runs `clients` threads until the context exits. Names are `<prefix><client>-<n>`."""

    def __init__(self, port: int, writers: list[Writer], prefix: str, clients: int = 4, pause: float = 0.02,
                 timeout: float = 20):
        self.port, self.writers, self.prefix = port, writers, prefix
        self.clients, self.pause, self.timeout = clients, pause, timeout
        self.ledger = Ledger()
        self._samples: list[Sample] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._client, args=(n,), daemon=True) for n in range(clients)]

    def __enter__(self) -> "Load":
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(self.timeout + 5)

    def samples(self, since: float = 0, until: float = float("inf")) -> list[Sample]:
        with self._lock:
            return [s for s in self._samples if since <= s.start <= until]

    def _record(self, start: float, ok: bool, method: str = "", status: int = 0) -> None:
        with self._lock:
            self._samples.append(Sample(start, time.monotonic(), ok, method, status))

    def _client(self, number: int) -> None:
        writer = self.writers[number % len(self.writers)]
        headers = {"Host": f"{writer.host}:{self.port}", "Authorization": f"Token {writer.token}",
                   "Content-Type": "application/json"}
        conn = None
        n = 0
        while not self._stop.is_set():
            n += 1
            name = f"{self.prefix}{number}-{n}"
            for method, path, body in (("POST", "/api/v1/projects/", {"name": name}),
                                       ("GET", "/api/v1/projects/?page_size=1", None)):
                start = time.monotonic()
                status = 0
                try:
                    conn = conn or http.client.HTTPConnection(config.HOST, self.port, timeout=self.timeout)
                    conn.request(method, path, body=json.dumps(body) if body else None, headers=headers)
                    response = conn.getresponse()
                    response.read()
                    status = response.status
                    ok = 200 <= status < 300
                except (OSError, http.client.HTTPException):
                    ok = False
                    conn.close()
                    conn = None  # a fresh connection next time, as a client library would
                if ok and method == "POST":
                    self.ledger.acknowledge(writer.schema, name)
                self._record(start, ok, method, status)
                self._stop.wait(self.pause)
        if conn:
            conn.close()
