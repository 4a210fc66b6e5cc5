"""Concurrent cross-tenant traffic through gunicorn -> PgBouncer -> PostgreSQL, counting every leak.

Each tenant gets a marker that is part of every project name it writes. A client of tenant T must
only ever see T's marker, T's schema and T's name; afterwards every schema must hold exactly the
projects its clients were told were created. Used by the isolation test (safe configuration: zero
leaks) and against stock django-tenants request handling (which leaks).
"""
import http.client
import json
import os
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from localplatform import config


@dataclass
class LoadTenant:
    host: str
    schema: str
    display_name: str
    token: str
    marker: str
    # The session of a member who never writes: its CSV exports read the streaming replica (a
    # writer is pinned to the primary until the replica has replayed its writes).
    reader_cookie: str | None = None


@dataclass
class Report:
    requests: int = 0
    leaks: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    created: dict[str, list[str]] = field(default_factory=dict)  # marker -> acknowledged names
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, *, leak: str | None = None, error: str | None = None) -> None:
        with self.lock:
            self.requests += 1
            if leak:
                self.leaks.append(leak)
            if error:
                self.errors.append(error)


def drive(port: int, tenants: list[LoadTenant], clients: int, requests_per_client: int) -> Report:
    report = Report(created={t.marker: [] for t in tenants})
    markers = {t.marker for t in tenants}

    def client(number: int) -> None:
        tenant = tenants[number % len(tenants)]
        others = markers - {tenant.marker}
        conn = http.client.HTTPConnection(config.HOST, port, timeout=30)
        headers = {"Host": f"{tenant.host}:{port}", "Authorization": f"Token {tenant.token}",
                   "Content-Type": "application/json"}

        def call(method: str, path: str, body: dict | None = None) -> tuple[int, str]:
            conn.request(method, path, body=json.dumps(body) if body else None, headers=headers)
            response = conn.getresponse()
            return response.status, response.read().decode(errors="replace")

        try:
            for i in range(requests_per_client):
                kind = i % (5 if tenant.reader_cookie else 4)
                if kind == 0:
                    name = f"{tenant.marker}:{number}:{i}"
                    status, text = call("POST", "/api/v1/projects/", {"name": name})
                    if status == 201:
                        with report.lock:
                            report.created[tenant.marker].append(name)
                elif kind == 1:
                    status, text = call("GET", "/api/v1/projects/")
                elif kind == 4:
                    conn.request("GET", "/dashboard/export.csv",
                                 headers={"Host": headers["Host"], "Cookie": tenant.reader_cookie})
                    response = conn.getresponse()
                    status, text = response.status, response.read().decode(errors="replace")
                    if status == 200 and not text.startswith("name,"):
                        report.add(error=f"{tenant.host} export is no CSV: {text[:120]}")
                        continue
                elif kind == 2:
                    status, text = call("GET", "/")
                    if status == 200 and f">{tenant.schema}<" not in text:
                        report.add(leak=f"{tenant.host} page not from {tenant.schema}")
                        continue
                else:
                    status, text = call("GET", "/api/v1/me/")
                    if status == 200 and tenant.display_name not in text:
                        report.add(leak=f"{tenant.host} /me/ names another tenant")
                        continue
                leaked = [m for m in others if m in text]
                report.add(leak=f"{tenant.host} saw {leaked}" if leaked else None,
                           error=None if status < 400 else f"{status} {text[:120]}")
        finally:
            conn.close()

    with ThreadPoolExecutor(max_workers=clients) as pool:
        list(pool.map(client, range(clients)))
    return report


def pgbouncer_pool(db_name: str) -> tuple[int, int]:
    """(client connections, server connections) PgBouncer holds for `db_name` right now."""
    out = subprocess.run(["psql", "-h", config.HOST, "-p", str(config.PORTS["pgbouncer"]), "-U", config.DB_USER,
                          "-d", "pgbouncer", "-A", "-F", "|", "-c", "SHOW POOLS"],
                         capture_output=True, text=True, check=True,
                         env={**os.environ, "PGPASSWORD": config.DB_PASSWORD}).stdout.splitlines()
    header = out[0].split("|")
    for line in out[1:]:
        row = dict(zip(header, line.split("|"), strict=True))
        if row.get("database") == db_name:
            clients = int(row["cl_active"]) + int(row["cl_waiting"])
            servers = sum(int(row[k]) for k in ("sv_active", "sv_idle", "sv_used", "sv_tested", "sv_login"))
            return clients, servers
    return 0, 0
