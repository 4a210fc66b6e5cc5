"""Web pod metrics, logs and Server-Timing, through a real gunicorn whose workers recycle all the time.

This module's gunicorn has 4 workers that each exit after about 10 requests, so every test below runs
across dozens of worker restarts; one test also kills a worker with SIGKILL. Its /metrics is scraped
from the master's metrics port, as Prometheus does.
"""
import json
import re
import time
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from chaos.faults import children, kill_worker
from conftest import RUN_ID
from harness import App, new_tenant, start_or_fail
from localplatform import config
from localplatform.components import web
from localplatform.proc import log_file, read_pid
from localplatform.stack import discard
from tenantry.observability.tenant_metrics import BUCKETS
from testkit.net import free_port
from testkit.polling import wait_for

pytestmark = pytest.mark.integration
WORKERS = 4
MAX_REQUESTS = 10
CAP = 100  # the default of TENANTRY_METRICS_TENANT_CAP
TENANT_FAMILIES = ("tenantry_tenant_requests_total", "tenantry_tenant_request_duration_seconds")


class Pod:
    """This module's gunicorn: the app, its metrics port and its multiprocess directory."""

    def __init__(self, app: App, name: str):
        self.app = app
        self.name = name
        self.files = config.LOCAL / name / "prometheus"

    def scrape(self) -> tuple[list, float]:
        """Every sample on /metrics, and how long the scrape took."""
        started = time.perf_counter()
        with urllib.request.urlopen(f"http://{config.HOST}:{self.app.metrics_port}/metrics", timeout=30) as r:
            text = r.read().decode()
        seconds = time.perf_counter() - started
        return [s for family in text_string_to_metric_families(text) for s in family.samples], seconds

    def total(self, name: str, **labels) -> float:
        samples, _ = self.scrape()
        return sum(s.value for s in samples if s.name == name and labels.items() <= s.labels.items())

    def get_all(self, hosts: list[str], path: str = "/", clients: int = 4) -> list[int]:
        with ThreadPoolExecutor(max_workers=clients) as pool:
            return [status for status, _, _ in pool.map(lambda host: self.app.get(host, path), hosts)]


@pytest.fixture(scope="module")
def pod(database):
    name = f"web-metrics-test-{RUN_ID}"
    port, metrics_port = free_port(), free_port()
    server = web(name=name, port=port, db_name=database, workers=WORKERS, threads=2, metrics_port=metrics_port,
                 # Its own cache prefix, so its own set of admitted tenant labels: the rest of the run
                 # (in-process clients too) fills the run's set with far more tenants than the cap.
                 extra_env={"GUNICORN_MAX_REQUESTS": str(MAX_REQUESTS),
                            "TENANTRY_CACHE_PREFIX": f"{database}-web-metrics"})
    start_or_fail([server])
    pod = Pod(App(database, port, metrics_port), name)
    yield pod
    discard(server)


def wait_for_workers(pod: Pod) -> list[int]:
    """The master replaces exited workers; wait until all of them are back."""
    master = read_pid(pod.name)
    return wait_for(lambda: workers if len(workers := children(master)) == WORKERS else None,
                    f"{pod.name} back to {WORKERS} workers", timeout=30, every=0.1)


def counted(pod: Pod, schema: str) -> dict[str, float]:
    """The request counters a tenant's home page increments, from one scrape."""
    samples, _ = pod.scrape()

    def total(name, **labels):
        return sum(s.value for s in samples if s.name == name and labels.items() <= s.labels.items())

    return {
        "tenant requests": total("tenantry_tenant_requests_total", tenant=schema, status_class="2xx"),
        "tenant latency count": total("tenantry_tenant_request_duration_seconds_count", tenant=schema),
        "django requests by view": total("django_http_requests_total_by_view_transport_method_total",
                                         view="home", method="GET"),
        "django responses by status": total("django_http_responses_total_by_status_view_method_total",
                                            view="home", method="GET", status="200"),
        "django latency count": total("django_http_requests_latency_seconds_by_view_method_count",
                                      view="home", method="GET"),
    }


def test_n_requests_count_exactly_n_across_recycles_and_a_killed_worker(pod):
    tenant = new_tenant()
    before = counted(pod, tenant.schema)
    first_workers = set(wait_for_workers(pod))

    statuses = pod.get_all([tenant.host] * 60)
    kill_worker(web(name=pod.name, port=pod.app.web_port))  # between batches: no request is in flight
    statuses += pod.get_all([tenant.host] * 60)
    after = counted(pod, tenant.schema)

    assert statuses == [200] * 120, f"some requests failed: {statuses}"
    assert {name: after[name] - before[name] for name in after} == dict.fromkeys(after, 120)
    assert first_workers.isdisjoint(wait_for_workers(pod)), "the workers were not recycled during the test"


def test_the_multiprocess_directory_stays_bounded_after_many_recycles(pod):
    tenant = new_tenant()
    pod.get_all([tenant.host] * (WORKERS * MAX_REQUESTS * 5))  # at least 20 recycles
    master = read_pid(pod.name)
    live = {str(pid) for pid in wait_for_workers(pod)} | {str(master), "archive"}
    files = sorted(path.name for path in pod.files.glob("*.db"))
    owners = {Path(name).stem.rsplit("_", 1)[1] for name in files}
    assert owners <= live, f"files of dead workers were left behind: {files}"
    kinds_per_process = 3  # counter, histogram, and a gauge file at most
    assert len(files) <= 3 + kinds_per_process * (WORKERS + 1), files


def test_the_tenant_label_cap_holds_with_ten_times_more_tenants(pod, database):
    """Rows only: tenants with a domain but no schema. The login page needs no tenant table, and the
    tenant label depends on nothing else, so this is what 1,000 real tenants cost in series."""
    figures = {}
    made = []
    try:
        for count in (10, 1000):
            made += cheap_tenants(count - len(made))
            before = pod.total("tenantry_tenant_requests_total")
            statuses = pod.get_all([f"{schema}.test.localhost" for schema in made], "/accounts/login/")
            assert set(statuses) == {200}, statuses
            assert pod.total("tenantry_tenant_requests_total") - before == len(made)
            samples, seconds = pod.scrape()
            tenants = {s.labels["tenant"] for s in samples if s.name.startswith(TENANT_FAMILIES)}
            figures[count] = {"series": len(samples), "tenant label values": len(tenants),
                              "scrape seconds": round(seconds, 3)}
        print(f"\nseries on /metrics per web pod (cap {CAP}, {WORKERS} workers, max_requests {MAX_REQUESTS}): "
              f"{figures}")
        assert figures[1000]["tenant label values"] <= CAP + 1, figures
        assert "__other__" in tenants
        per_tenant = len(BUCKETS) + 2 + 4  # buckets, _sum, _count; a counter per status class
        assert figures[1000]["series"] - figures[10]["series"] <= (CAP + 1 - 10) * per_tenant, figures
        assert figures[1000]["scrape seconds"] < 2, figures
    finally:
        drop_cheap_tenants(made)


def cheap_tenants(count: int) -> list[str]:
    from tenantry.tenancy.models import Domain, Tenant

    names = [f"m{uuid.uuid4().hex[:10]}" for _ in range(count)]
    tenants = Tenant.objects.bulk_create(
        Tenant(schema_name=name, resource=f"test/{name}", display_name=name, state=Tenant.State.ACTIVE)
        for name in names)
    Domain.objects.bulk_create(Domain(domain=f"{t.schema_name}.test.localhost", tenant=t, is_primary=True)
                               for t in tenants)
    return names


def drop_cheap_tenants(names: list[str]) -> None:
    """In SQL: they own nothing but their domain, and the ORM's cascade would visit every app's tables."""
    from django.db import connection

    from tenantry.tenancy.models import Domain, Tenant
    from tenantry.tenancy.routing import invalidate

    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {Domain._meta.db_table} WHERE tenant_id IN "
                       f"(SELECT id FROM {Tenant._meta.db_table} WHERE schema_name = ANY(%s))", [names])
        cursor.execute(f"DELETE FROM {Tenant._meta.db_table} WHERE schema_name = ANY(%s)", [names])
    invalidate()


def test_the_request_log_line_is_json_with_request_id_and_tenant(pod):
    tenant = new_tenant()
    sent = f"test-{uuid.uuid4().hex}"
    conn_headers = {"Host": f"{tenant.host}:{pod.app.web_port}", "X-Request-ID": sent}
    request = urllib.request.Request(f"http://{config.HOST}:{pod.app.web_port}/accounts/login/",
                                     headers=conn_headers)
    with urllib.request.urlopen(request, timeout=10) as response:
        headers = response.headers
    assert headers["X-Request-ID"] == sent
    assert re.fullmatch(r"app;dur=\d+\.\d, db;dur=\d+\.\d", headers["Server-Timing"]), headers["Server-Timing"]

    [line] = wait_for(lambda: [line for line in log_file(pod.name).read_text().splitlines() if sent in line],
                      f"a log line with request id {sent} in {log_file(pod.name)}", timeout=5, every=0.1)
    record = json.loads(line)
    assert {k: record[k] for k in ("message", "request_id", "tenant", "method", "path", "status")} == {
        "message": "request", "request_id": sent, "tenant": tenant.schema, "method": "GET",
        "path": "/accounts/login/", "status": 200}
    assert record["duration_ms"] >= record["db_ms"] >= 0


def test_an_unusable_request_id_is_replaced_and_health_probes_are_not_logged(pod):
    status, headers, _ = pod.app.get("10.1.2.3", "/healthz")
    assert status == 200 and "Server-Timing" not in headers
    tenant = new_tenant()
    status, headers, _ = pod.app.get(tenant.host, "/accounts/login/")
    assert status == 200 and re.fullmatch(r"[0-9a-f]{32}", headers["X-Request-ID"])


def test_metrics_are_not_served_through_the_tenant_router(pod):
    tenant = new_tenant()
    status, _, page = pod.app.get(tenant.host, "/metrics")
    assert status == 404 and "django_http" not in page


def test_database_cache_and_business_families_are_scraped(pod):
    tenant = new_tenant(plan="free")
    pod.get_all([tenant.host] * 3, "/accounts/login/")
    time.sleep(5)  # the business gauges are cached for 5 seconds
    samples, _ = pod.scrape()
    names = {s.name for s in samples}
    assert {"django_db_execute_total", "django_db_query_duration_seconds_count", "django_cache_get_hits_total",
            "django_cache_get_misses_total", "tenantry_tenants", "tenantry_subscriptions_active"} <= names
    by_state = {s.labels["state"]: s.value for s in samples if s.name == "tenantry_tenants"}
    assert set(by_state) == {"provisioning", "active", "suspended", "retained"} and by_state["active"] >= 1
    assert sum(s.value for s in samples if s.name == "tenantry_subscriptions_active" and
               s.labels["plan"] == "free") >= 1
