"""The chart's lifecycle on the node, as `helm` users run it: `helm test` passes, and a second release
(its own namespace and database) installs, rolls its web pods when a value changes, and leaves no pod
behind when uninstalled. The second release keeps the demo release untouched for the other tests."""
import json
import uuid

import pytest

from chaos.cluster import ready
from localplatform import cluster, config
from localplatform.components import psql_admin
from node_client import NAMESPACE, RELEASE, eventually, helm, kubectl

# The first test brings the node up (the chart installed, the demo Tenants Ready): minutes, not seconds.
pytestmark = [pytest.mark.usefixtures("the_node"), pytest.mark.timeout(900)]
CHART = config.ROOT / "charts" / "tenantry"
DB = {"name": "cluster-postgres", "port": config.CLUSTER_PORTS["cluster-postgres"]}


def web_pods(namespace: str, release: str) -> dict[str, bool]:
    """Web pod name -> Ready, for the pods that are not on their way out."""
    items = json.loads(kubectl("-n", namespace, "get", "pods", "-l",
                               f"app.kubernetes.io/instance={release},app.kubernetes.io/component=web",
                               "-o", "json").stdout)["items"]
    return {p["metadata"]["name"]: ready(p) for p in items if not p["metadata"].get("deletionTimestamp")}


def test_helm_test_of_the_demo_release_passes():
    result = helm("test", RELEASE, "--namespace", NAMESPACE, "--timeout", "3m")
    assert "Phase:          Succeeded" in result.stdout, result.stdout


@pytest.fixture(scope="module")
def scratch():
    """A second release of the chart, in a namespace and database of its own."""
    name = f"scratch-{uuid.uuid4().hex[:6]}"
    database = name.replace("-", "_")
    psql_admin(f"CREATE DATABASE {database} OWNER {config.DB_USER}", **DB)
    try:
        helm("upgrade", "--install", name, CHART, "--namespace", name, "--create-namespace",
             "-f", cluster.VALUES, "-f", cluster.IMAGE_VALUES, "--set", f"database.name={database}",
             "--set", "operator.replicas=1", "--set", "pgbouncer.replicas=1", "--set", "web.ingress.enabled=false",
             # The backup volume's claim lives in the demo release's namespace: this one gets emptyDirs.
             # Two web pods from the start, not the HPA's one until it first acts.
             "--set", "backup.pvc=", "--set", "web.autoscaling.enabled=false",
             "--wait", "--timeout", "8m")
        yield name
    finally:
        helm("uninstall", name, "--namespace", name, "--wait", "--timeout", "3m", check=False)
        kubectl("delete", "namespace", name, "--wait=false", "--ignore-not-found")
        # Kopf makes these at run time, so `helm uninstall` does not know them (see test below).
        kubectl("delete", "validatingwebhookconfiguration,mutatingwebhookconfiguration", f"tenantry.dev.{name}",
                "--ignore-not-found")
        psql_admin(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)", **DB)


def test_a_second_release_installs_and_passes_helm_test(scratch):
    pods = web_pods(scratch, scratch)
    assert len(pods) == 2 and all(pods.values())
    result = helm("test", scratch, "--namespace", scratch, "--timeout", "3m")
    assert "Phase:          Succeeded" in result.stdout


def test_helm_upgrade_with_a_changed_value_rolls_the_web_pods(scratch):
    before = set(web_pods(scratch, scratch))
    helm("upgrade", scratch, CHART, "--namespace", scratch, "--reuse-values", "--set", "web.threads=3",
         "--wait", "--timeout", "5m")
    after = eventually(lambda: (pods := web_pods(scratch, scratch)) and len(pods) == 2 and all(pods.values())
                       and not set(pods) & before and pods, "two new Ready web pods")
    assert not set(after) & before
    settings = kubectl("-n", scratch, "get", "configmap", f"{scratch}-tenantry-settings", "-o",
                       "jsonpath={.data.GUNICORN_THREADS}").stdout
    assert settings == "3"


def test_helm_uninstall_leaves_no_pods_behind(scratch):
    helm("uninstall", scratch, "--namespace", scratch, "--wait", "--timeout", "3m")
    eventually(lambda: kubectl("-n", scratch, "get", "pods", "-o", "name").stdout.strip() == "",
               f"every pod of {scratch} to be gone", timeout=180)
    left = kubectl("-n", scratch, "get", "deploy,sts,job,cronjob,svc,secret,configmap,sa", "-o", "name").stdout
    assert left.split() == ["configmap/kube-root-ca.crt", "serviceaccount/default"]  # what every namespace has
