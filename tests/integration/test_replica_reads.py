"""Heavy read-only views on the streaming replica (tenantry.db.replica), through a gunicorn of this
run's with the replica's PgBouncer, against `make up`'s replica: the reads reach it (as its own
statistics show), a writer sees their write at once while the replica's replay is paused, a replica
too far behind or down sends the reads to the primary, and nothing is ever an error."""
import time
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from conftest import RUN_ID
from harness import PASSWORD, App, add_projects, new_tenant, start_or_fail
from localplatform import config
from localplatform.components import web
from localplatform.stack import discard
from tenantry.db.replica import STATE_SECONDS
from testkit.browser import Browser
from testkit.net import direct, free_port
from testkit.polling import wait_for
from testkit.replication import replay_paused, replica_direct, table_reads, wait_replayed

pytestmark = pytest.mark.integration
EXPORT = "/dashboard/export.csv"


@pytest.fixture
def serve(database):
    """A gunicorn reading through the replica's PgBouncer, with the environment given."""
    started = []

    def start(**env: str) -> App:
        server = web(name=f"web-replica-{RUN_ID}-{len(started)}", port=free_port(), db_name=database,
                     metrics_port=free_port(), extra_env=env)
        started.append(server)
        start_or_fail([server])
        return App(database, server.port, int(server.env["TENANTRY_WEB_METRICS_PORT"]))

    yield start
    for server in started:
        discard(server)


def replica_reads(app: App) -> dict[str, float]:
    """tenantry_replica_reads_total by route, from the server's /metrics."""
    with urllib.request.urlopen(f"http://{config.HOST}:{app.metrics_port}/metrics", timeout=10) as response:
        families = text_string_to_metric_families(response.read().decode())
    return {sample.labels["route"]: sample.value for family in families
            if family.name == "tenantry_replica_reads" for sample in family.samples
            if sample.name.endswith("_total")}


def caught_up(database: str) -> None:
    """The replica has replayed every commit so far, and the servers' view of it is that fresh."""
    with direct(database) as primary, replica_direct(database) as replica:
        wait_replayed(primary, replica)
    time.sleep(STATE_SECONDS + 0.2)


def writer_and_colleague(app: App, database: str) -> tuple[Browser, Browser]:
    """An owner and a member of a new tenant, logged in at `app`, with the replica caught up."""
    t = new_tenant(plan="free")
    writing = Browser(app.web_port, t.host).log_in(t.user(role="owner").email, PASSWORD)
    reading = Browser(app.web_port, t.host).log_in(t.user(role="member").email, PASSWORD)
    caught_up(database)
    return writing, reading


def create_project(browser: Browser, name: str) -> None:
    created = browser.post("/projects/new/", {"name": name, "description": "", "status": "active"})
    assert created.status == 302, created.body[:300]


def test_the_export_reads_the_replica(serve, database):
    app = serve()
    t = new_tenant(plan="free")
    reader = t.user(role="member")
    add_projects(t, reader, 3, prefix="On the replica")
    browser = Browser(app.web_port, t.host).log_in(reader.email, PASSWORD)
    caught_up(database)  # the login was a write too: the reader is pinned until it is replayed

    with replica_direct(database) as replica:
        before = table_reads(replica, t.schema)
        export = browser.get(EXPORT)
        assert export.status == 200 and export.body.count("On the replica") == 3, export.body[:300]
        # The replica flushes its statistics within about 10 s of the read.
        wait_for(lambda: table_reads(replica, t.schema) > before, "the replica to count the export's read", 30, every=1)
    assert replica_reads(app).get("replica", 0) >= 1


def test_a_writer_sees_the_write_at_once_while_the_replica_has_not_replayed_it(serve, database):
    app = serve(TENANTRY_REPLICA_MAX_LAG_SECONDS="60")
    writing, reading = writer_and_colleague(app, database)
    marker = f"written-{RUN_ID}-{time.monotonic_ns()}"

    with replay_paused():
        create_project(writing, marker)
        assert marker in writing.get(EXPORT).body, "the writer must see their own write at once"
        assert marker not in reading.get(EXPORT).body, "the colleague reads the replica, which has not replayed it"
    wait_for(lambda: marker in reading.get(EXPORT).body, "the colleague to see the write once it is replayed", 30)
    routes = replica_reads(app)
    assert routes.get("pinned", 0) >= 1 and routes.get("replica", 0) >= 2, routes


def test_a_replica_too_far_behind_sends_everyone_to_the_primary(serve, database):
    app = serve(TENANTRY_REPLICA_MAX_LAG_SECONDS="1")
    writing, reading = writer_and_colleague(app, database)
    marker = f"lagging-{RUN_ID}-{time.monotonic_ns()}"

    with replay_paused():
        create_project(writing, marker)
        # Replay is paused with a commit waiting: its lag grows past 1 s, and the colleague's reads move.
        wait_for(lambda: marker in reading.get(EXPORT).body, "the colleague to be sent to the primary", 15)
    assert replica_reads(app).get("lagging", 0) >= 1


def test_a_replica_that_is_down_costs_no_request(serve, database):
    nothing_listens = config.database_url(free_port(), database)
    app = serve(TENANTRY_DATABASE_REPLICA_URL=nothing_listens)
    t = new_tenant(plan="free")
    reader = t.user(role="member")
    add_projects(t, reader, 2, prefix="From the primary")
    browser = Browser(app.web_port, t.host).log_in(reader.email, PASSWORD)
    for path in (EXPORT, "/dashboard/", "/dashboard/analytics/"):
        reply = browser.get(path)
        assert reply.status == 200, (path, reply.status, reply.body[:300])
    assert browser.get(EXPORT).body.count("From the primary") == 2
    assert replica_reads(app).get("down", 0) >= 4
