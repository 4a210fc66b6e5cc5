"""How the cluster tests reach the node, as a user would: kubectl and helm with its kubeconfig, HTTP
through Traefik on loopback."""
import http.client
from dataclasses import dataclass

import pytest

from harness import run_tool
from localplatform import cluster, config, node
from localplatform.proc import PlatformError, wait_for

NAMESPACE = config.CLUSTER_NAMESPACE
RELEASE = cluster.RELEASE
INGRESS = (config.HOST, config.CLUSTER_PORTS["ingress"])


def kubectl(*args, input: str | None = None, check: bool = True):
    return run_tool(config.BIN / "kubectl", f"--kubeconfig={node.PLANE.kubeconfig}", *args, input=input, check=check)


def helm(*args, check: bool = True):
    """helm with the node's kubeconfig; as long as its own --timeout may need (installs run migrations)."""
    return run_tool(config.BIN / "helm", f"--kubeconfig={node.PLANE.kubeconfig}", *args, check=check, timeout=600)


@dataclass
class Reply:
    status: int
    body: str
    headers: dict[str, str]


def through_ingress(host: str, path: str = "/", method: str = "GET", body: str | None = None,
                    headers: dict[str, str] | None = None) -> Reply:
    """One request to Traefik on loopback, for the tenant host a browser would send."""
    connection = http.client.HTTPConnection(*INGRESS, timeout=15)
    try:
        connection.request(method, path, body=body, headers={"Host": host, **(headers or {})})
        response = connection.getresponse()
        return Reply(response.status, response.read().decode(errors="replace"),
                     {k.lower(): v for k, v in response.getheaders()})
    finally:
        connection.close()


def eventually(check, what: str, timeout: float = 120, every: float = 1):
    """Poll `check` until it returns something truthy and return it; fail the test past `timeout`."""
    try:
        return wait_for(check, what, timeout, every)
    except PlatformError as err:
        pytest.fail(str(err), pytrace=False)
