"""The chart's monitoring objects consumed as kube-prometheus-stack consumes them, by the Prometheus
Operator on the node: its Prometheus scrapes every ServiceMonitor's targets (the web pods, the
operator pods, the PgBouncer and Redis exporter sidecars, and the PostgreSQL exporter beside the
database), loads every alert rule of the PrometheusRule, and every panel of the dashboards the chart
ships as ConfigMaps (the Grafana sidecar's label) returns data from pod metrics after a short load
through Traefik."""
import json
import uuid

import pytest
import requests
import yaml

from dashboard_queries import api, target_health, wait_until, without_data
from localplatform import config
from localplatform.prometheus import JOBS
from node_client import NAMESPACE, api_load, eventually, kubectl, through_ingress
from testkit import tenants

pytestmark = [pytest.mark.usefixtures("the_node"), pytest.mark.timeout(900)]


@pytest.fixture(scope="module")
def prometheus() -> str:
    """The operator-run Prometheus, at its pod's address on the node's bridge."""
    pod = json.loads(kubectl("-n", "monitoring", "get", "pod", "prometheus-tenantry-0", "-o", "json").stdout)
    url = f"http://{pod['status']['podIP']}:9090"
    eventually(lambda: requests.get(f"{url}/-/ready", timeout=5).ok, "Prometheus ready", timeout=120)
    return url


def unscraped(prometheus: str) -> dict[str, str]:
    health = target_health(prometheus)
    return {job: health.get(job, "no such target") for job in JOBS if health.get(job) != "up"}


def test_every_servicemonitor_target_is_up_with_pod_and_namespace_labels(prometheus):
    down = wait_until(lambda: unscraped(prometheus), timeout=90, interval=3)
    assert not down, f"jobs not scraped: {down}"
    targets = api(prometheus, "targets")["activeTargets"]
    assert [t["scrapeUrl"] for t in targets if t["health"] != "up"] == []
    for job in ("web", "operator", "pgbouncer", "redis"):
        series = api(prometheus, "query", query=f'up{{job="{job}"}}')["result"]
        assert series and all(s["metric"].get("namespace") == NAMESPACE and s["metric"].get("pod")
                              for s in series), (job, series)


def test_every_alert_rule_of_the_chart_is_loaded(prometheus):
    rule = json.loads(kubectl("-n", NAMESPACE, "get", "prometheusrules", "-o", "json").stdout)["items"]
    assert len(rule) == 1
    expected = {r["alert"] for group in rule[0]["spec"]["groups"] for r in group["rules"] if "alert" in r}
    shipped = yaml.safe_load((config.ROOT / "dashboards" / "alerts.yaml").read_text())
    assert expected == {r["alert"] for group in shipped["groups"] for r in group["rules"] if "alert" in r}

    def loaded() -> set[str]:
        groups = api(prometheus, "rules", type="alert")["groups"]
        return {r["name"] for group in groups for r in group["rules"] if r.get("health") == "ok"}
    missing = wait_until(lambda: expected - loaded(), timeout=90, interval=3)
    assert not missing, f"alert rules not loaded (or not healthy): {sorted(missing)}"


def test_every_dashboard_panel_of_the_chart_returns_pod_data(prometheus):
    maps = json.loads(kubectl("-n", NAMESPACE, "get", "configmaps", "-l", "grafana_dashboard=1",
                              "-o", "json").stdout)["items"]
    dashboards = {name: json.loads(text) for item in maps for name, text in item["data"].items()}
    assert len(dashboards) == len(list((config.ROOT / "dashboards").glob("*.json"))), sorted(dashboards)

    # A Tenant provisioned while Prometheus watches (the operator's histograms), pages, the API, a
    # refusal and a missing path at the demo tenants through Traefik.
    name = f"mon-{uuid.uuid4().hex[:6]}"
    kubectl("-n", NAMESPACE, "apply", "-f", "-", input=tenants.manifest(tenants.tenant(name, deletionPolicy="Delete")))
    try:
        with api_load(clients=2) as load:
            for host in (w.host for w in load.writers):
                for path in ("/", "/accounts/login/", "/api/v1/does-not-exist/"):
                    through_ingress(host, path)
            kubectl("-n", NAMESPACE, "wait", "--for=condition=Ready", f"tenant/{name}", "--timeout=180s")
            schema = load.writers[0].schema
            missing = wait_until(lambda: without_data(prometheus, dashboards, {"tenant": [schema, "__other__"]}),
                                 timeout=90, interval=5)
    finally:
        kubectl("-n", NAMESPACE, "delete", "tenant", name, "--ignore-not-found", "--timeout=180s")
    assert not missing, "dashboard queries without data:\n" + "\n".join(missing)
