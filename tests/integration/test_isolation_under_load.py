"""Tenants stay apart under concurrent reads and writes through a real PgBouncer in transaction mode.

32 clients on 4 tenants send 10,240 requests (API writes, API reads, tenant pages, /me) to gunicorn
with 4 workers x 8 threads: 32 database clients sharing PgBouncer's pool of at most 20 server
connections. The same traffic against stock django-tenants request handling must show leaks, which
proves the check can see them.
"""
import dataclasses
import threading
import uuid

import pytest
from django_tenants.utils import tenant_context
from rest_framework.authtoken.models import Token

from harness import PASSWORD, TestTenant, new_tenant, start_or_fail
from isolation import LoadTenant, drive, pgbouncer_pool
from localplatform import config
from localplatform.components import pgbouncer, web
from localplatform.stack import discard
from tenantry.projects.models import Project
from testkit.browser import Browser
from testkit.net import free_port
from testkit.polling import wait_for
from testkit.replication import replica_direct, table_reads

pytestmark = pytest.mark.integration
CLIENTS, TENANTS = 32, 4


def load_tenants() -> list[tuple[LoadTenant, TestTenant]]:
    made = []
    for _ in range(TENANTS):
        t = new_tenant(plan="free")
        made.append((LoadTenant(host=t.host, schema=t.schema, display_name=t.tenant.display_name,
                                token=Token.objects.create(user=t.user()).key, marker=f"M{uuid.uuid4().hex[:10]}"),
                     t))
    return made


def with_readers(port: int, made: list[tuple[LoadTenant, TestTenant]]) -> list[LoadTenant]:
    """Each tenant's load with a member's session logged in at `port`, for exports from the replica."""
    return [dataclasses.replace(load, reader_cookie=Browser(port, t.host).log_in(t.user().email, PASSWORD)
                                .cookie_header) for load, t in made]


def serve(database: str, settings: str, pgbouncer_port: int = config.PORTS["pgbouncer"]):
    port = free_port()
    server = web(name=f"web-load-{uuid.uuid4().hex[:6]}", port=port, db_name=database, workers=4, threads=8,
                 settings=settings, pgbouncer_port=pgbouncer_port)
    start_or_fail([server])
    return port, server


def stored_names(tenants: list[LoadTenant]) -> dict[str, list[str]]:
    from tenantry.tenancy.models import Tenant

    names = {}
    for t in tenants:
        with tenant_context(Tenant.objects.get(schema_name=t.schema)):
            names[t.marker] = list(Project.objects.values_list("name", flat=True))
    return names


def test_no_tenant_sees_or_writes_another_tenants_rows_under_load(database):
    """With reads on the streaming replica too: its transactions set the tenant's path the same way."""
    port, server = serve(database, "tenantry.settings")
    tenants = with_readers(port, load_tenants())
    with replica_direct(database) as replica:
        replica_scans = {t.schema: table_reads(replica, t.schema) for t in tenants}
    peak = {"clients": 0, "servers": 0}
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.5):
            clients, servers = pgbouncer_pool(database)
            peak["clients"], peak["servers"] = max(peak["clients"], clients), max(peak["servers"], servers)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        report = drive(port, tenants, clients=CLIENTS, requests_per_client=320)
    finally:
        done.set()
        sampler.join()
        discard(server)

    assert report.requests >= 10_000
    assert report.leaks == []
    assert report.errors == []
    assert peak["clients"] > peak["servers"] > 0, peak  # pooling really shared server connections
    stored = stored_names(tenants)
    for t in tenants:
        assert sorted(stored[t.marker]) == sorted(report.created[t.marker]), f"writes of {t.host} went astray"
    # The exports were read on the replica: it counts the reads of every tenant's table (within ~10 s).
    with replica_direct(database) as replica:
        wait_for(lambda: all(table_reads(replica, t.schema) > replica_scans[t.schema] for t in tenants),
                 "the replica to count every tenant's exports", 30, every=1)


def test_the_same_check_sees_leaks_under_stock_django_tenants(database, capsys):
    """Against a PgBouncer of its own: stock django-tenants leaves session-level search_paths on
    server connections, which must not reach the shared pool the other tests use."""
    tenants = [load for load, _ in load_tenants()]
    bouncer = pgbouncer(name=f"pgbouncer-stock-{uuid.uuid4().hex[:6]}", port=free_port())
    start_or_fail([bouncer])
    port, server = serve(database, "tenantry.settings_stock", pgbouncer_port=bouncer.port)
    try:
        report = drive(port, tenants, clients=CLIENTS, requests_per_client=40)
    finally:
        discard(server)
        discard(bouncer)
    stored = stored_names(tenants)
    misplaced = sum(1 for t in tenants for name in stored[t.marker] if not name.startswith(t.marker))
    with capsys.disabled():
        print(f"\nstock django-tenants behind PgBouncer: {len(report.leaks)} leaking responses, "
              f"{len(report.errors)} errors, {misplaced} rows written into another tenant's schema, "
              f"of {report.requests} requests")
    assert report.leaks or misplaced
