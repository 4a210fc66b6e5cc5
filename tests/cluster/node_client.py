"""How the cluster tests reach the node, as a user would: kubectl and helm with its kubeconfig, HTTP
through Traefik on loopback."""
import http.client
import statistics
import uuid
from dataclasses import dataclass

from chaos.ledger import LedgerCheck, check, stored_writes
from chaos.load import Load, Sample, demo_writers
from harness import run_tool
from localplatform import cluster, config, node
from testkit import polling
from testkit.browser import Browser

NAMESPACE = config.CLUSTER_NAMESPACE
RELEASE = cluster.RELEASE
INGRESS = (config.HOST, config.CLUSTER_PORTS["ingress"])
DIRECT = config.database_url(config.CLUSTER_PORTS["cluster-postgres"])


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
    """`testkit.polling.wait_for` at the node's pace: pods start and roll in minutes, not seconds."""
    return polling.wait_for(check, what, timeout, every)


def api_load(clients: int = 4, pause: float = 0.02) -> Load:
    """Writes and reads at the demo tenants through Traefik, until the `with` block ends, each client
    waiting `pause` seconds between requests; every acknowledged write is in its ledger (`ledger_of`)."""
    port = config.CLUSTER_PORTS["ingress"]
    return Load(port, demo_writers(port, DIRECT), f"node-{uuid.uuid4().hex[:6]}-", clients=clients, pause=pause)


def ledger_of(load: Load) -> LedgerCheck:
    """The load's acknowledged writes against what the node's database holds."""
    return check(load.ledger.snapshot(), stored_writes(DIRECT, [w.schema for w in load.writers], load.prefix))


def p95_ms(samples: list[Sample]) -> float:
    durations = [s.end - s.start for s in samples if s.ok]
    return round(statistics.quantiles(durations, n=20)[-1] * 1000, 1) if len(durations) >= 2 else float("nan")


def failures(samples: list[Sample]) -> int:
    return sum(not s.ok for s in samples)


def report(name: str, text: str) -> None:
    """Figures a test measured, kept in .local/cluster/reports/ and printed (pytest -s shows them)."""
    folder = config.CLUSTER / "reports"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.txt").write_text(text)
    print(text)


def browser_session(host: str, email: str, password: str) -> str:
    """Log in through Traefik as a browser does; returns the Cookie header of the logged-in session."""
    return Browser(INGRESS[1], host, address=INGRESS[0]).log_in(email, password).cookie_header


def signed_in(host: str, cookie: str) -> bool:
    """Does the session still open a page that needs a login (no redirect to the login form)?"""
    reply = through_ingress(host, "/dashboard/", headers={"Cookie": cookie})
    return reply.status == 200
