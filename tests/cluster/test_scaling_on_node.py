"""The web HorizontalPodAutoscaler on the node, fed by metrics-server: a Locust load through Traefik at
the demo tenants scales the web Deployment up, and it comes back down after; a probe load of API
writes and reads runs all along and must see no failed request while pods are added and removed.
The timeline (replicas, CPU, the probe's p95 before, during and after) goes to
.local/cluster/reports/hpa.txt."""
import json
import os
import subprocess
import threading
import time

import pytest

from loadtest.run import locust_argv
from localplatform import config
from node_client import NAMESPACE, RELEASE, api_load, eventually, failures, kubectl, ledger_of, p95_ms, report

pytestmark = [pytest.mark.usefixtures("the_node"), pytest.mark.timeout(900)]
HPA = f"{RELEASE}-web"
LOCUST_SECONDS = 100
LOCUST_USERS = 24


def hpa_state() -> dict:
    hpa = json.loads(kubectl("-n", NAMESPACE, "get", "hpa", HPA, "-o", "json").stdout)
    cpu = [m["resource"]["current"].get("averageUtilization") for m in hpa["status"].get("currentMetrics") or []
           if m.get("type") == "Resource"]
    return {"spec": hpa["spec"], "replicas": hpa["status"].get("currentReplicas", 0),
            "desired": hpa["status"].get("desiredReplicas", 0), "cpu": cpu[0] if cpu else None}


class Timeline(threading.Thread):
    """The HPA's replicas and CPU every few seconds, from the API, as an SRE's dashboard shows them."""

    def __init__(self, began: float):
        super().__init__(daemon=True)
        self.began, self.rows, self.done = began, [], threading.Event()

    def run(self) -> None:
        while not self.done.wait(5):
            state = hpa_state()
            self.rows.append((round(time.monotonic() - self.began), state["replicas"], state["desired"], state["cpu"]))


def locust(report_dir, seconds: int) -> subprocess.Popen:
    argv = locust_argv("smoke", f"http://{config.HOST}:{config.CLUSTER_PORTS['ingress']}",
                       "acme.localhost,globex.localhost", report_dir, {}, f"{seconds}s")
    argv[argv.index("--users") + 1] = str(LOCUST_USERS)
    return subprocess.Popen(argv, cwd=config.ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "PYTHONPATH": str(config.ROOT)})


def locust_totals(report_dir) -> tuple[int, int]:
    """(requests, failures) of Locust's aggregated row."""
    lines = (report_dir / "stats_stats.csv").read_text().splitlines()
    header = lines[0].split(",")
    total = next(line.split(",") for line in lines[1:] if ",Aggregated," in line)
    return int(total[header.index("Request Count")]), int(total[header.index("Failure Count")])


def test_the_hpa_scales_the_web_pods_up_under_load_and_down_after_without_a_failed_request(tmp_path):
    state = hpa_state()
    minimum, maximum = state["spec"]["minReplicas"], state["spec"]["maxReplicas"]
    assert maximum > minimum
    eventually(lambda: hpa_state()["replicas"] == minimum, f"the web HPA at {minimum} replicas", timeout=300, every=5)
    eventually(lambda: hpa_state()["cpu"] is not None, "metrics-server's CPU figure in the HPA", timeout=120, every=5)

    # Light enough that it alone would not keep the HPA above its target.
    with api_load(clients=2, pause=0.25) as probe:
        began = time.monotonic()
        timeline = Timeline(began)
        timeline.start()
        time.sleep(20)
        load_began = time.monotonic()
        runner = locust(tmp_path, LOCUST_SECONDS)
        try:
            eventually(lambda: hpa_state()["replicas"] > minimum, "the HPA to add web pods", timeout=LOCUST_SECONDS)
        finally:
            runner.wait(LOCUST_SECONDS + 60)
        load_ended = time.monotonic()
        peak = max(row[1] for row in timeline.rows)
        eventually(lambda: hpa_state()["replicas"] == minimum, "the HPA to remove the added pods", timeout=300,
                   every=5)
        time.sleep(10)  # the last pod's drain is over before the probe stops
        timeline.done.set()
        ended = time.monotonic()

    before, during, after = (probe.samples(began, load_began), probe.samples(load_began, load_ended),
                             probe.samples(load_ended, ended))
    requests, failed = locust_totals(tmp_path)
    ledger = ledger_of(probe)
    report("hpa", "\n".join([
        f"web HPA {minimum}..{maximum} replicas; Locust {LOCUST_USERS} users for {LOCUST_SECONDS}s through Traefik "
        f"at acme and globex: {requests} requests, {failed} failed",
        "probe (2 API clients, a write or a read every 0.25 s each): "
        f"before p95 {p95_ms(before)} ms ({len(before)} requests, {failures(before)} failed); "
        f"during p95 {p95_ms(during)} ms ({len(during)}, {failures(during)} failed); "
        f"after p95 {p95_ms(after)} ms ({len(after)}, {failures(after)} failed)",
        f"writes acknowledged {ledger.acknowledged}, lost {len(ledger.lost)}, duplicated {len(ledger.duplicated)}",
        "seconds  replicas  desired  cpu% (of the request)",
        *(f"{t:7d}  {replicas:8d}  {desired:7d}  {cpu}" for t, replicas, desired, cpu in timeline.rows)]))

    assert peak > minimum, timeline.rows
    assert requests > 0 and failed == 0, f"Locust saw {failed} failed requests of {requests}"
    assert failures(before + during + after) == 0, "the probe saw failed requests while pods came and went"
    assert not ledger.lost and not ledger.duplicated, ledger
