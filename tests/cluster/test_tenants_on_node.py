"""Tenants on the node, as a platform engineer and an end user meet them: kubectl applies a Tenant,
the operator in a pod makes it Ready, Traefik serves it at its subdomain from the web pods, each
tenant sees only its own data, deleting it takes its route away, and the webhook in a pod refuses a
domain another tenant owns."""
import json
import uuid

import pytest

from localplatform.stack import DEMO_PASSWORD
from node_client import NAMESPACE, eventually, kubectl, through_ingress
from testkit import tenants

# The first test brings the node up (the chart installed, the demo Tenants Ready): minutes, not seconds.
pytestmark = [pytest.mark.usefixtures("the_node"), pytest.mark.timeout(900)]


def tenant_yaml(name: str, display_name: str, domains: list[str] | None = None) -> str:
    spec = {"displayName": display_name, "plan": "free", "owner": {"email": f"owner@{name}.example.com"}}
    return tenants.manifest(tenants.tenant(name, **spec, **({"domains": domains} if domains else {})))


def token(host: str, email: str) -> str:
    credentials = json.dumps({"email": email, "password": DEMO_PASSWORD})
    reply = through_ingress(host, "/api/v1/auth/token/", "POST", credentials, {"Content-Type": "application/json"})
    assert reply.status == 200, reply.body
    return json.loads(reply.body)["token"]


def projects(host: str, key: str, search: str = "") -> tuple[int, list[str]]:
    reply = through_ingress(host, f"/api/v1/projects/?search={search}", headers={"Authorization": f"Token {key}"})
    return reply.status, ([p["name"] for p in json.loads(reply.body)["results"]] if reply.status == 200 else [])


def test_the_demo_tenants_are_served_through_traefik_by_the_web_pods():
    for host, name in (("acme.localhost", "Acme Corporation"), ("globex.localhost", "Globex")):
        reply = through_ingress(host)
        assert reply.status == 200 and name in reply.body, (host, reply.status)
    unknown = through_ingress("nobody.localhost")
    assert unknown.status == 404  # Traefik has no route for a host no Tenant claims


def test_each_tenant_sees_only_its_own_data_through_the_whole_path():
    """Traefik -> web pods -> PgBouncer pods (transaction pooling) -> PostgreSQL, with the demo data."""
    acme = token("acme.localhost", "owner@acme.example.com")
    globex = token("globex.localhost", "owner@globex.example.com")
    marker = f"only-acme-{uuid.uuid4().hex[:8]}"
    created = through_ingress("acme.localhost", "/api/v1/projects/", "POST", json.dumps({"name": marker}),
                              {"Authorization": f"Token {acme}", "Content-Type": "application/json"})
    assert created.status == 201, created.body
    # Several reads, so they spread over both web pods and both PgBouncer pods.
    for _ in range(6):
        assert projects("acme.localhost", acme, marker) == (200, [marker])
        assert projects("globex.localhost", globex, marker) == (200, [])
    # A token of one tenant is worthless at another.
    assert projects("globex.localhost", acme)[0] in (401, 403)
    assert projects("acme.localhost", globex)[0] in (401, 403)


def test_a_tenant_applied_with_kubectl_is_served_and_deleting_it_takes_its_route_away():
    name = f"node-{uuid.uuid4().hex[:6]}"
    host = f"{name}.localhost"
    kubectl("apply", "-n", NAMESPACE, "-f", "-", input=tenant_yaml(name, f"Node Test {name}"))
    try:
        kubectl("wait", "-n", NAMESPACE, "--for=condition=Ready", f"tenant/{name}", "--timeout=120s")
        status = json.loads(kubectl("get", "-n", NAMESPACE, f"tenant/{name}", "-o", "json").stdout)["status"]
        assert status["url"] == f"http://{host}:8080/"
        kubectl("get", "-n", NAMESPACE, f"ingress/tenant-{name}", f"cronjob/tenant-{name}-backup")
        reply = eventually(lambda: (r := through_ingress(host)).status == 200 and r, f"{host} through Traefik")
        assert f"Node Test {name}" in reply.body and "Acme Corporation" not in reply.body
    finally:
        kubectl("delete", "-n", NAMESPACE, f"tenant/{name}", "--timeout=120s")
    eventually(lambda: kubectl("get", "-n", NAMESPACE, f"ingress/tenant-{name}", f"cronjob/tenant-{name}-backup",
                               check=False).returncode != 0, "the Ingress and CronJob to be collected")
    eventually(lambda: through_ingress(host).status == 404, f"{host} to stop answering")


def test_the_webhook_in_a_pod_refuses_a_domain_another_tenant_owns():
    name = f"thief-{uuid.uuid4().hex[:6]}"
    refused = kubectl("apply", "-n", NAMESPACE, "-f", "-", check=False,
                      input=tenant_yaml(name, "Thief", domains=["acme.localhost"]))
    assert refused.returncode != 0
    assert "denied the request" in refused.stderr and "acme.localhost" in refused.stderr, refused.stderr
    assert kubectl("get", "-n", NAMESPACE, f"tenant/{name}", check=False).returncode != 0
    assert through_ingress("acme.localhost").status == 200


def test_the_operator_pod_shows_every_tenant_migrated_and_the_fleet_summary():
    """The fleet loop in a pod, with the chart's RBAC: status.migrations on each Tenant, the Migrated
    condition, the ConfigMap tenantry-migrations with its events."""
    def fleet() -> dict:
        listed = json.loads(kubectl("get", "-n", NAMESPACE, "tenants", "-o", "json").stdout)["items"]
        return {t["metadata"]["name"]: t.get("status", {}) for t in listed}

    statuses = eventually(lambda: (f := fleet()) and all((s.get("migrations") or {}).get("state") == "Current"
                                                       for s in f.values()) and f, "every Tenant Current")
    targets = {s["migrations"]["target"] for s in statuses.values()}
    assert len(targets) == 1 and {s["migrations"]["version"] for s in statuses.values()} == targets
    for status in statuses.values():
        migrated = next(c for c in status["conditions"] if c["type"] == "Migrated")
        assert (migrated["status"], migrated["reason"]) == ("True", "Migrated")
    summary = json.loads(kubectl("get", "-n", NAMESPACE, "configmap", "tenantry-migrations", "-o", "json").stdout)
    assert summary["data"]["target"] in targets and summary["data"]["current"] == str(len(statuses))
    assert summary["data"]["behind"] == "0" and summary["data"]["failed"] == "0"
    assert "MIGRATED" in kubectl("get", "-n", NAMESPACE, "tenants").stdout.splitlines()[0]
