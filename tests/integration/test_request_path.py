"""Requests through this run's gunicorn -> PgBouncer -> PostgreSQL, routed by Host header."""
from concurrent.futures import ThreadPoolExecutor

import pytest

from harness import new_tenant

pytestmark = pytest.mark.integration


def make_tenant(**overrides) -> tuple[str, str]:
    made = new_tenant(**overrides)
    return made.host, made.schema


def test_each_host_is_served_from_its_own_schema(web_app):
    (host_a, schema_a), (host_b, schema_b) = make_tenant(), make_tenant()
    status_a, _, page_a = web_app.get(host_a)
    status_b, _, page_b = web_app.get(host_b)
    assert (status_a, status_b) == (200, 200)
    assert f'data-testid="schema">{schema_a}<' in page_a and schema_b not in page_a
    assert f'data-testid="schema">{schema_b}<' in page_b and schema_a not in page_b


def test_an_unknown_host_gets_a_404_page(web_app):
    status, _, page = web_app.get("nope.test.localhost")
    assert status == 404
    assert "No tenant is served at <code>nope.test.localhost</code>" in page


def test_a_suspended_tenant_gets_a_503_with_retry_after(web_app):
    host, _ = make_tenant(suspended=True)
    status, headers, page = web_app.get(host)
    assert status == 503
    assert int(headers["Retry-After"]) > 0
    assert "is suspended" in page


def test_health_endpoints_answer_before_tenant_routing(web_app):
    status, _, body = web_app.get("10.1.2.3", "/healthz")  # a probe hits the pod IP
    assert (status, body) == (200, "ok\n")
    status, _, body = web_app.get("10.1.2.3", "/readyz")
    assert status == 200
    assert '"postgresql": {"ok": true, "via": "127.0.0.1:16432 (PgBouncer)"}' in body
    assert '"redis": {"ok": true}' in body


def test_concurrent_requests_never_cross_tenants(web_app):
    tenants = [make_tenant() for _ in range(3)]
    work = [tenants[i % 3] for i in range(240)]

    def fetch(item):
        host, schema = item
        status, _, page = web_app.get(host)
        return status, schema, f'data-testid="schema">{schema}<' in page

    with ThreadPoolExecutor(max_workers=12) as pool:
        results = list(pool.map(fetch, work))
    wrong = [(status, schema) for status, schema, ok in results if status != 200 or not ok]
    assert wrong == [], f"{len(wrong)} of {len(results)} responses were wrong: {wrong[:5]}"


@pytest.mark.parametrize("host", ["evil.com/../admin", "a b.test.localhost", "<script>.localhost",
                                  "acme.localhost:99999999", "'; DROP SCHEMA public; --"])
def test_malformed_host_headers_get_a_plain_400(web_app, host):
    status, _, page = web_app.get(host)
    assert status == 400
    assert "Traceback" not in page and "DROP SCHEMA" not in page


def test_an_oversized_body_is_refused_without_a_stack_trace(web_app):
    import http.client

    host, _ = make_tenant()
    conn = http.client.HTTPConnection("127.0.0.1", web_app.web_port, timeout=10)
    body = "name=" + "x" * (2 * 1024 * 1024)
    conn.request("POST", "/accounts/login/", body=body,
                 headers={"Host": f"{host}:{web_app.web_port}", "Content-Type": "application/x-www-form-urlencoded"})
    response = conn.getresponse()
    page = response.read().decode()
    assert response.status in (400, 403, 413)
    assert "Traceback" not in page


def test_an_unknown_path_at_a_tenant_gets_the_404_page(web_app):
    host, _ = make_tenant()
    status, _, page = web_app.get(host, "/no/such/page/")
    assert status == 404 and "Not found" in page and "Traceback" not in page


def test_a_worker_reads_the_routing_generation_at_most_every_interval(database, monkeypatch):
    """Another process's invalidation (a bump in Redis, no forget() here) is seen once this process's
    copy of the generation is GENERATION_SECONDS old, not before; this process's own at once."""
    from django.core.cache import caches

    from tenantry.core import versions
    from tenantry.tenancy import routing
    from tenantry.tenancy.models import Tenant

    made = new_tenant()
    monkeypatch.setattr(routing, "GENERATION_SECONDS", 3600)
    routing.invalidate()  # this process's copy forgotten: the next lookup reads Redis
    assert routing.tenant_for_host(made.host).state == Tenant.State.ACTIVE
    Tenant.objects.filter(pk=made.tenant.pk).update(state=Tenant.State.SUSPENDED)
    versions.bump(caches["platform"], routing.GENERATION_KEY)  # as the operator's process does
    assert routing.tenant_for_host(made.host).state == Tenant.State.ACTIVE  # inside the interval
    monkeypatch.setattr(routing, "GENERATION_SECONDS", 0)
    assert routing.tenant_for_host(made.host).suspended  # past it

    monkeypatch.setattr(routing, "GENERATION_SECONDS", 3600)
    Tenant.objects.filter(pk=made.tenant.pk).update(state=Tenant.State.ACTIVE)
    routing.invalidate()
    assert routing.tenant_for_host(made.host).state == Tenant.State.ACTIVE  # at once in this process
