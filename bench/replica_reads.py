"""Figure 7: the analytics page while a write-heavy load runs, read from the primary and from the
streaming replica, side by side in one run.

Two Tenantry gunicorns differ only in TENANTRY_DATABASE_REPLICA_URL: "tenantry" reads everything on
the primary, "replica" reads its marked views (tenantry.db.replica) through a private PgBouncer on
`make up`'s replica. In each round, on each server in turn (who goes first rotates), API clients
create projects as fast as they can (each write makes the tenant's cached figures stale, so the
charts are computed again) while the load driver asks the analytics page as the tenant's owner, who
writes nothing and so is never pinned to the primary.
"""
import functools
import http.client
import json
import threading
import time

from bench.request_path import Result, drive
from bench.runner import QUICK
from bench.table import Row, median, rotated
from bench.webstack import TENANT_HOST, Stack, log_in
from localplatform import config
from testkit.background import Background

KINDS = ("tenantry", "replica")
PAGE = "/dashboard/analytics/"
READERS, WRITERS = 4, 4
ROUNDS, SECONDS = (1, 3.0) if QUICK else (3, 6.0)
HOW = (f"analytics page ({PAGE}) by {READERS} closed-loop readers (the owner's session) while {WRITERS} API "
       f"clients create projects without pause (every write invalidates the charts); {SECONDS:g} s per round, "
       f"{ROUNDS} round(s) rotating which server goes first, median round; 'replica' = the same gunicorn with "
       "TENANTRY_DATABASE_REPLICA_URL through its own PgBouncer on make up's streaming replica. Primary, "
       "replica, servers and load share the machine's 2 cores.")


class Writers(Background):
    """API clients creating projects at a server until stopped; counts what was acknowledged."""

    def __init__(self, port: int, tokens: list[str]):
        self.port = port
        self.acknowledged = self.failed = 0
        self._lock = threading.Lock()
        super().__init__([functools.partial(self._write, token) for token in tokens])

    def _write(self, token: str) -> None:
        conn = http.client.HTTPConnection(config.HOST, self.port, timeout=30)
        headers = {"Host": TENANT_HOST, "Authorization": f"Token {token}", "Content-Type": "application/json"}
        number = 0
        while self.running():
            number += 1
            try:
                conn.request("POST", "/api/v1/projects/", body=json.dumps({"name": f"bench write {number}"}),
                             headers=headers)
                response = conn.getresponse()
                response.read()
                ok = response.status == 201
            except OSError:
                ok = False
                conn.close()
                conn = http.client.HTTPConnection(config.HOST, self.port, timeout=30)
            with self._lock:
                self.acknowledged += ok
                self.failed += not ok
        conn.close()


def measure(stack: Stack, accounts: list[dict], say) -> dict[str, list[tuple[Result, float]]]:
    """kind -> [(the analytics page's result, acknowledged writes per second)] per round."""
    cookies = {kind: log_in(stack.port(kind)) for kind in KINDS}
    tokens = [account["token"] for account in accounts[:WRITERS]]
    results: dict[str, list[tuple[Result, float]]] = {}
    for turn in range(ROUNDS):
        for kind in rotated(KINDS, turn):
            with Writers(stack.port(kind), tokens) as writers:
                started = time.monotonic()
                page = drive(stack.port(kind), PAGE, SECONDS, users=READERS, cookie=cookies[kind])
                writes = writers.acknowledged / (time.monotonic() - started)
            if writers.failed:
                raise RuntimeError(f"{writers.failed} writes failed at {kind}: read {config.LOGS}/"
                                   f"{stack.servers[kind].name}.log")
            results.setdefault(kind, []).append((page, writes))
            say(f"analytics under writes, {kind}, round {turn + 1}/{ROUNDS}: {page.rps:.0f} req/s, "
                f"p95 {page.p95_ms:.0f} ms, {page.failures} failed; {writes:.0f} writes/s")
    return results


def rows(results: dict[str, list[tuple[Result, float]]]) -> list[Row]:
    def figure(kind: str, pick) -> float:
        return median([pick(page, writes) for page, writes in results[kind]])

    out = []
    for kind, label in (("tenantry", "primary only"), ("replica", "with the replica")):
        out.append(Row(f"7. analytics under write load, {label}: req/s (p95 ms), writes/s",
                       f"{figure(kind, lambda p, w: p.rps):.0f} ({figure(kind, lambda p, w: p.p95_ms):.0f}), "
                       f"{figure(kind, lambda p, w: w):.0f}"))
    primary, replica = figure("tenantry", lambda p, w: p.rps), figure("replica", lambda p, w: p.rps)
    out.append(Row("7. analytics under write load: with the replica / primary only", f"{replica / primary:.2f}x req/s"))
    failed = sum(page.failures for runs in results.values() for page, _ in runs)
    if failed:
        out.append(Row("7. failed analytics requests while measuring", str(failed), "0", "MISS"))
    return out
