"""The node itself: every pod Ready, images made here and never pulled, the chart's hardening holds
in a real container, cluster DNS answers, and nothing a pod sends may leave this machine."""
import json
import subprocess

import pytest

from chaos.cluster import ready
from localplatform import config, node
from node_client import NAMESPACE, RELEASE, eventually, kubectl

# The first test brings the node up (the chart installed, the demo Tenants Ready): minutes, not seconds.
pytestmark = [pytest.mark.usefixtures("the_node"), pytest.mark.timeout(900)]


def pods(namespace: str | None = None) -> list[dict]:
    scope = ["-n", namespace] if namespace else ["-A"]
    return json.loads(kubectl("get", "pods", *scope, "-o", "json").stdout)["items"]


def serving() -> list[dict]:
    """Pods meant to run: not finished, not on their way out (an HPA scale-down, a chaos test's)."""
    return [p for p in pods() if p["status"]["phase"] != "Succeeded" and not p["metadata"].get("deletionTimestamp")]


def test_every_pod_of_the_node_is_ready_and_on_the_bridge():
    running = serving()
    names = {p["metadata"]["name"].rsplit("-", 2)[0] for p in running}
    assert {f"{RELEASE}-web", f"{RELEASE}-operator", f"{RELEASE}-pgbouncer", "coredns", "traefik",
            "metrics-server", "prometheus-operator"} <= names
    eventually(lambda: not [p for p in serving() if not ready(p)], "every pod of the node Ready", timeout=120)
    for pod in running:
        expected = config.NODE_IP if pod["spec"].get("hostNetwork") else config.POD_CIDR.rsplit(".", 1)[0] + "."
        assert pod["status"]["podIP"].startswith(expected), pod["metadata"]["name"]
        assert pod["spec"]["nodeName"] == config.NODE_NAME


def test_two_web_pods_and_two_peered_operators_run():
    by_component = {}
    for pod in pods(NAMESPACE):
        if pod["status"]["phase"] == "Running":
            component = pod["metadata"]["labels"].get("app.kubernetes.io/component")
            by_component[component] = by_component.get(component, 0) + 1
    assert by_component.get("web", 0) >= 2 and by_component.get("operator", 0) == 2, by_component
    assert by_component.get("pgbouncer", 0) >= 1 and by_component.get("redis", 0) == 1, by_component


def test_every_image_is_a_local_build_and_none_was_pulled():
    for pod in pods():
        for container in pod["spec"]["containers"] + pod["spec"].get("initContainers", []):
            assert container["image"].startswith("tenantry.local/"), (pod["metadata"]["name"], container["image"])
            assert container["imagePullPolicy"] in ("Never", "IfNotPresent"), pod["metadata"]["name"]
    events = json.loads(kubectl("get", "events", "-A", "-o", "json").stdout)["items"]
    # A Failed event is about an image only when it says so (a restarted kubelet reports others).
    pulls = [e["message"] for e in events if e["reason"] in ("Pulling", "ErrImagePull", "ErrImageNeverPull")
             or e["reason"] == "Failed" and "image" in e["message"].lower()]
    assert pulls == []


def test_the_image_runs_as_uid_10001_with_a_read_only_root():
    exec_ = ("-n", NAMESPACE, "exec", f"deploy/{RELEASE}-web", "--")
    assert kubectl(*exec_, "id", "-u").stdout.strip() == "10001"
    refused = kubectl(*exec_, "touch", "/usr/local/probe", check=False)
    assert refused.returncode != 0 and "Read-only file system" in refused.stderr
    # /tmp is the chart's emptyDir: the one place the app may write.
    assert kubectl(*exec_, "touch", "/tmp/probe").returncode == 0
    spec = json.loads(kubectl("-n", NAMESPACE, "get", f"deploy/{RELEASE}-web", "-o", "json").stdout)
    context = spec["spec"]["template"]["spec"]["containers"][0]["securityContext"]
    assert context["readOnlyRootFilesystem"] is True and context["capabilities"]["drop"] == ["ALL"]


def test_cluster_dns_answers_services_and_nothing_else():
    lookup = ("import socket, sys\n"
              "for name in sys.argv[1:]:\n"
              "    try: print(socket.gethostbyname(name))\n"
              "    except OSError as err: print('error', err.errno)\n")
    service_ip = kubectl("-n", NAMESPACE, "get", "svc", f"{RELEASE}-web", "-o", "jsonpath={.spec.clusterIP}").stdout
    answers = kubectl("-n", NAMESPACE, "exec", f"deploy/{RELEASE}-web", "--", "python", "-c", lookup,
                      f"{RELEASE}-web", "kubernetes.default.svc.cluster.local", "example.com").stdout.split("\n")
    assert answers[0] == service_ip
    assert answers[1] == config.KUBERNETES_SERVICE_IP
    assert answers[2].startswith("error"), "a name outside the cluster must not resolve (CoreDNS forwards nowhere)"


def test_the_egress_guard_comes_first_and_pods_route_through_the_node():
    """Forwarded traffic from the pod network goes only to pods: the guard is the first rule of FORWARD,
    ahead of kube-proxy's, and a pod's default route is the node's bridge address."""
    chain = iptables("-S", node.EGRESS_CHAIN)
    assert chain == [f"-N {node.EGRESS_CHAIN}", *(f"-A {node.EGRESS_CHAIN} {' '.join(r)}" for r in node.egress_rules())]
    assert iptables("-S", "FORWARD")[1] == f"-A FORWARD -j {node.EGRESS_CHAIN}"
    routes = kubectl("-n", NAMESPACE, "exec", f"deploy/{RELEASE}-web", "--", "cat", "/proc/net/route").stdout
    gateway = "".join(f"{int(octet):02X}" for octet in reversed(config.NODE_IP.split(".")))
    default = [line.split() for line in routes.splitlines()[1:] if line.split()[1] == "00000000"]
    assert [route[2] for route in default] == [gateway]


def iptables(*args: str) -> list[str]:
    return subprocess.run(["iptables", "-w", *args], capture_output=True, text=True, check=True).stdout.splitlines()
