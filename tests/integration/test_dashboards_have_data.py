"""Every dashboard query returns data from a real Prometheus scraping the real stack.

This run's Prometheus scrapes this run's gunicorn and operator and the data tier's exporters every
second. A short, bounded load goes through them: pages and the REST API at two tenants, refused logins,
a path that does not exist, and a Tenant applied through the admission webhook until it is Ready. Then
the PromQL of every panel target of every dashboard in dashboards/*.json, with its template variables
put in as Grafana would, must return at least one value that is not NaN (Grafana shows NaN as no value).
"""
import json

import pytest
import requests

from dashboard_queries import target_health, wait_until, without_data
from harness import unique
from localplatform import config
from localplatform.prometheus import JOBS

pytestmark = [pytest.mark.e2e, pytest.mark.tenant_plan("free")]

DASHBOARDS = sorted((config.ROOT / "dashboards").glob("*.json"))
PASSWORD = "correct horse battery"
ROUNDS = 10  # of the load below, per tenant: about 80 requests each


# --- the load -------------------------------------------------------------------------------------

def tenant_traffic(web_port: int, tenant) -> None:
    """Pages, the REST API and a few refusals at one tenant, through this run's gunicorn."""
    user = tenant.user("admin", password=PASSWORD)
    http = requests.Session()
    http.headers["Host"] = f"{tenant.host}:{web_port}"
    base = f"http://{config.HOST}:{web_port}"
    token = http.post(f"{base}/api/v1/auth/token/", json={"email": user.email, "password": PASSWORD}, timeout=10)
    assert token.status_code == 200, token.text
    api_auth = {"Authorization": f"Token {token.json()['token']}"}
    for n in range(ROUNDS):
        for path, expected in [("/", 200), ("/accounts/login/", 200), ("/api/v1/does-not-exist/", 404)]:
            assert http.get(f"{base}{path}", timeout=10).status_code == expected, path
        assert http.get(f"{base}/dashboard/", allow_redirects=False, timeout=10).status_code == 302
        assert http.get(f"{base}/api/v1/me/", headers=api_auth, timeout=10).status_code == 200
        created = http.post(f"{base}/api/v1/projects/", json={"name": f"load {n}"}, headers=api_auth, timeout=10)
        assert created.status_code == 201, created.text
        assert http.get(f"{base}/api/v1/projects/", headers=api_auth, timeout=10).status_code == 200
        refused = http.post(f"{base}/api/v1/auth/token/", json={"email": user.email, "password": "wrong"},
                            timeout=10)
        assert refused.status_code in (401, 429), refused.text


def unscraped_jobs(prometheus_url: str) -> dict[str, str]:
    health = target_health(prometheus_url)
    return {job: health.get(job, "no such target") for job in JOBS if health.get(job) != "up"}


def test_every_dashboard_query_returns_data(app, prometheus_url, tenant, other_tenant):
    assert DASHBOARDS, "no dashboards in dashboards/*.json: dashboards/generate.py writes them"
    down = wait_until(lambda: unscraped_jobs(prometheus_url), timeout=30)
    assert not down, f"Prometheus cannot scrape every job: {down}"

    name = unique("dash")
    # Through the admission webhook, then reconciled and provisioned by this run's operator.
    app.apply_tenant(name)
    for each in (tenant, other_tenant):
        tenant_traffic(app.web_port, each)
    app.wait_ready(name)

    chosen = {"tenant": [tenant.schema, "__other__"]}
    dashboards = {path.name: json.loads(path.read_text()) for path in DASHBOARDS}
    missing = wait_until(lambda: without_data(prometheus_url, dashboards, chosen), timeout=45, interval=3)
    assert not missing, "dashboard queries without data:\n" + "\n".join(missing)
