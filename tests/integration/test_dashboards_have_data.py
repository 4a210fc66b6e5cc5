"""Every dashboard query returns data from a real Prometheus scraping the real stack.

This run's Prometheus scrapes this run's gunicorn and operator and the data tier's exporters every
second. A short, bounded load goes through them: pages and the REST API at two tenants, refused logins,
a path that does not exist, and a Tenant applied through the admission webhook until it is Ready. Then
the PromQL of every panel target of every dashboard in dashboards/*.json, with its template variables
put in as Grafana would, must return at least one value that is not NaN (Grafana shows NaN as no value).
"""
import json
import math
import re
import time

import pytest
import requests

from harness import unique
from localplatform import config
from localplatform.prometheus import JOBS

pytestmark = [pytest.mark.e2e, pytest.mark.tenant_plan("free")]

DASHBOARDS = sorted((config.ROOT / "dashboards").glob("*.json"))
PASSWORD = "correct horse battery"
ROUNDS = 10  # of the load below, per tenant: about 80 requests each
# Grafana's built-in variables, with windows wide enough to hold the whole load and a few scrapes.
BUILTINS = {"__rate_interval": "1m", "__interval": "15s", "__interval_ms": "15000", "__range": "5m",
            "__range_s": "300", "__range_ms": "300000"}
VARIABLE = re.compile(r"\$\{(\w+)(?::[^}]*)?\}|\[\[(\w+)(?::[^\]]*)?\]\]|\$(\w+)")
LABEL_VALUES = re.compile(r"^label_values\(\s*(?:(?P<match>.+?)\s*,\s*)?(?P<label>\w+)\s*\)$")


# --- reading dashboards ---------------------------------------------------------------------------

def panels(dashboard: dict) -> list[dict]:
    """Every panel, including those inside collapsed rows."""
    found = []
    for panel in dashboard.get("panels", []):
        found.append(panel)
        found.extend(panel.get("panels", []))
    return found


def queries(dashboard: dict) -> list[tuple[str, str]]:
    """(panel title, PromQL) for each target of each panel."""
    return [(panel.get("title", f"panel {panel.get('id')}"), target["expr"])
            for panel in panels(dashboard) for target in panel.get("targets", []) if target.get("expr")]


def substitute(expr: str, values: dict[str, str]) -> str:
    """$name, ${name}, ${name:format} and [[name]] replaced; an undefined name raises KeyError."""
    return VARIABLE.sub(lambda m: values[m.group(1) or m.group(2) or m.group(3)], expr)


# --- asking Prometheus ----------------------------------------------------------------------------

def api(prometheus_url: str, path: str, **params) -> object:
    response = requests.get(f"{prometheus_url}/api/v1/{path}", params=params, timeout=10)
    body = response.json()
    assert body.get("status") == "success", f"Prometheus refused {path} {params}: {body.get('error')}"
    return body["data"]


def has_data(prometheus_url: str, expr: str) -> bool:
    data = api(prometheus_url, "query", query=expr)
    if data["resultType"] == "scalar":
        samples = [data["result"][1]]
    else:
        samples = [series["value"][1] for series in data["result"]]
    return any(not math.isnan(float(value)) for value in samples)


def variable_values(prometheus_url: str, dashboard: dict,
                    chosen: dict[str, list[str]]) -> tuple[dict[str, str], list[str]]:
    """One value per template variable, and the variables without one: a query variable takes the
    first of the values `chosen` for it that its own query offers (a person picks the tenant the load
    went to, or `__other__` once earlier tenants filled the label cap), else the first it offers; the
    others take their current value."""
    values, empty = dict(BUILTINS), []
    for variable in dashboard.get("templating", {}).get("list", []):
        name, kind = variable["name"], variable["type"]
        if kind == "datasource":
            values[name] = "prometheus"
        elif kind == "query":
            query = variable["query"]["query"] if isinstance(variable["query"], dict) else variable["query"]
            parsed = LABEL_VALUES.match(substitute(query, values).strip())
            assert parsed, f"{dashboard['title']}: variable ${name}: this test reads only label_values(), not {query!r}"
            match = {"match[]": parsed["match"]} if parsed["match"] else {}
            found = api(prometheus_url, f"label/{parsed['label']}/values", **match)
            wanted = [value for value in chosen.get(name, []) if value in found]
            if name in chosen and not wanted:
                empty.append(f"variable ${name}: none of {chosen[name]} among {found} from {query}")
            elif found:
                values[name] = (wanted or found)[0]
            else:
                empty.append(f"variable ${name}: no values for {query}")
        else:
            current = variable.get("current", {}).get("value") or variable.get("query", "")
            values[name] = current[0] if isinstance(current, list) else current
    return values, empty


def without_data(prometheus_url: str, chosen: dict[str, list[str]]) -> list[str]:
    missing = []
    for path in DASHBOARDS:
        dashboard = json.loads(path.read_text())
        values, empty = variable_values(prometheus_url, dashboard, chosen)
        missing.extend(f"{path.name} / {problem}" for problem in empty)
        for panel, expr in queries(dashboard):
            try:
                promql = substitute(expr, values)
            except KeyError as err:
                missing.append(f"{path.name} / {panel}: undefined variable ${err.args[0]} in {expr}")
                continue
            if not has_data(prometheus_url, promql):
                missing.append(f"{path.name} / {panel}: no data for {promql}")
    return missing


def target_health(prometheus_url: str) -> dict[str, str]:
    """job -> "up", or the last scrape error."""
    targets = api(prometheus_url, "targets")["activeTargets"]
    return {t["labels"]["job"]: "up" if t["health"] == "up" else t["lastError"] or t["health"] for t in targets}


def wait_until(predicate, timeout: float, interval: float = 1):
    """Poll `predicate` until it returns something falsy or time is up; return its last answer."""
    deadline = time.monotonic() + timeout
    answer = predicate()
    while answer and time.monotonic() < deadline:
        time.sleep(interval)
        answer = predicate()
    return answer


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


def is_ready(app, name: str) -> bool:
    conditions = app.tenant(name).get("status", {}).get("conditions", [])
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def unscraped_jobs(prometheus_url: str) -> dict[str, str]:
    health = target_health(prometheus_url)
    return {job: health.get(job, "no such target") for job in JOBS if health.get(job) != "up"}


def test_every_dashboard_query_returns_data(app, prometheus_url, tenant, other_tenant):
    assert DASHBOARDS, "no dashboards in dashboards/*.json: dashboards/generate.py writes them"
    down = wait_until(lambda: unscraped_jobs(prometheus_url), timeout=30)
    assert not down, f"Prometheus cannot scrape every job: {down}"

    name = unique("dash")
    # Through the admission webhook, then reconciled and provisioned by this run's operator.
    app.apply(f"apiVersion: tenantry.dev/v1alpha1\nkind: Tenant\nmetadata:\n  name: {name}\nspec: {{}}\n")
    for each in (tenant, other_tenant):
        tenant_traffic(app.web_port, each)
    app.wait_for(lambda: is_ready(app, name), what=f"{name} Ready")

    chosen = {"tenant": [tenant.schema, "__other__"]}
    missing = wait_until(lambda: without_data(prometheus_url, chosen), timeout=45, interval=3)
    assert not missing, "dashboard queries without data:\n" + "\n".join(missing)
