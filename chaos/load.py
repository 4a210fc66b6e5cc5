"""A small, bounded, threaded API load: each client alternates a project creation with a unique,
client-generated name and a one-item list, and records every request's outcome and timing. The same
load runs against `make up`'s gunicorn and, through Traefik, against the node's web pods."""
import functools
import http.client
import json
import threading
import time
from dataclasses import dataclass

import psycopg

from localplatform import config
from localplatform.proc import PlatformError
from localplatform.stack import DEMO_PASSWORD, DEMO_TENANTS
from testkit.background import Background
from testkit.browser import Browser

from .ledger import Ledger


@dataclass(frozen=True)
class Writer:
    """A tenant the load writes to: its host, its schema (for the ledger check) and an API token."""
    host: str
    schema: str
    token: str


def api(port: int, method: str, host: str, path: str, body: dict | None = None,
        token: str | None = None) -> tuple[int, dict]:
    conn = http.client.HTTPConnection(config.HOST, port, timeout=20)
    headers = {"Host": f"{host}:{port}", "Content-Type": "application/json",
               **({"Authorization": f"Token {token}"} if token else {})}
    try:
        conn.request(method, path, body=json.dumps(body) if body else None, headers=headers)
        response = conn.getresponse()
        text = response.read()
        return response.status, json.loads(text) if text else {}
    finally:
        conn.close()


def demo_writers(port: int, database_url: str) -> list[Writer]:
    """The demo tenants, signed in as their owners (the password `make up` and `make cluster` set),
    through whatever serves `port`; their schemas from the database at `database_url`."""
    writers = []
    with psycopg.connect(database_url, autocommit=True) as conn:
        for name in DEMO_TENANTS:
            host = f"{name}.{config.BASE_DOMAIN}"
            [schema] = conn.execute("SELECT t.schema_name FROM tenancy_domain d JOIN tenancy_tenant t "
                                    "ON t.id = d.tenant_id WHERE d.domain = %s", [host]).fetchone()
            status, body = api(port, "POST", host, "/api/v1/auth/token/",
                               {"email": f"owner@{name}.example.com", "password": DEMO_PASSWORD})
            if status != 200:
                raise PlatformError(f"chaos: cannot sign in as the owner of {host} on port {port} ({status} {body})")
            writers.append(Writer(host, schema, body["token"]))
    return writers


@dataclass(frozen=True)
class Sample:
    start: float
    end: float
    ok: bool
    method: str = ""
    status: int = 0  # 0: no response (connection refused, reset or timed out)


@dataclass(frozen=True)
class Reader:
    """A member who only reads: their CSV exports go to the read replica when there is one (nobody
    pins them to the primary, as a writer is after each write)."""
    host: str
    cookie: str


def demo_readers(port: int) -> list[Reader]:
    """The demo tenants' analysts (members who never write), logged in through whatever serves `port`."""
    return [Reader(host, Browser(port, host).log_in(f"analyst@{name}.example.com", DEMO_PASSWORD).cookie_header)
            for name in DEMO_TENANTS for host in [f"{name}.{config.BASE_DOMAIN}"]]


class Load(Background):
    """Runs `clients` writing threads, and one reading thread per reader, until the context exits.
    Names are `<prefix><client>-<n>`."""

    def __init__(self, port: int, writers: list[Writer], prefix: str, clients: int = 4, pause: float = 0.02,
                 timeout: float = 20, readers: list[Reader] | tuple[()] = ()):
        self.port, self.writers, self.prefix = port, writers, prefix
        self.clients, self.interval, self.timeout = clients, pause, timeout
        self.ledger = Ledger()
        self._samples: list[Sample] = []
        self._lock = threading.Lock()
        super().__init__([*(functools.partial(self._client, n) for n in range(clients)),
                          *(functools.partial(self._reader, r) for r in readers)], join_seconds=timeout + 5)

    def samples(self, since: float = 0, until: float = float("inf")) -> list[Sample]:
        with self._lock:
            return [s for s in self._samples if since <= s.start <= until]

    def _record(self, start: float, ok: bool, method: str = "", status: int = 0) -> None:
        with self._lock:
            self._samples.append(Sample(start, time.monotonic(), ok, method, status))

    def _reader(self, reader: Reader) -> None:
        browser = Browser(self.port, reader.host, timeout=self.timeout)
        while self.running():
            start = time.monotonic()
            try:
                reply = browser.get("/dashboard/export.csv", headers={"Cookie": reader.cookie})
                status, ok = reply.status, reply.status == 200 and reply.body.startswith("name,")
            except (OSError, http.client.HTTPException):
                status, ok = 0, False
            self._record(start, ok, "GET", status)
            self.pause(self.interval * 5)

    def _client(self, number: int) -> None:
        writer = self.writers[number % len(self.writers)]
        headers = {"Host": f"{writer.host}:{self.port}", "Authorization": f"Token {writer.token}",
                   "Content-Type": "application/json"}
        conn = None
        n = 0
        while self.running():
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
                self.pause(self.interval)
        if conn:
            conn.close()
