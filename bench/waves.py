"""A wave of Tenants, end to end through the real API server: one multi-document `kubectl apply -f -`
and a `kubectl get tenants -o json` poll every 0.5 s, a tenant counting as Ready when its Ready
condition is True *for the current generation* (what `kubectl wait` users rely on).

Per-tenant latency therefore has the poll's resolution; the server-side view (Ready's
lastTransitionTime minus creationTimestamp, 1 s resolution) is printed next to it as a cross-check.
"""
import json
import time
from dataclasses import dataclass, field
from datetime import datetime

from bench.procstat import process_cpu_seconds
from bench.runner import Run
from bench.table import percentile
from localplatform.stack import kubectl
from testkit import tenants

POLL_SECONDS = 0.5


def parse_time(stamp: str) -> datetime:
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ")


def server_ready_seconds(tenant: dict) -> float | None:
    """Ready's lastTransitionTime minus creationTimestamp (both whole seconds), or None if not Ready."""
    condition = tenants.ready(tenant)
    if condition is None or not condition.get("lastTransitionTime"):
        return None
    created = parse_time(tenant["metadata"]["creationTimestamp"])
    return (parse_time(condition["lastTransitionTime"]) - created).total_seconds()


@dataclass
class Wave:
    names: list[str]
    apply_seconds: float = 0.0  # how long `kubectl apply` itself took
    ready_after: dict[str, float] = field(default_factory=dict)  # name -> seconds from apply start
    server_seconds: dict[str, float] = field(default_factory=dict)
    total_seconds: float | None = None  # apply start -> last one seen Ready (None if not all)
    waited_seconds: float = 0.0  # apply start -> end of waiting (all Ready, or the deadline)
    polls: int = 0
    poll_seconds: float = 0.0
    operator_cpu_seconds: float | None = None
    present: int = 0
    ready_present: int = 0

    @property
    def complete(self) -> bool:
        return len(self.ready_after) == len(self.names)

    def latencies(self) -> list[float]:
        return list(self.ready_after.values())


def list_tenants(namespace: str) -> list[dict]:
    return json.loads(kubectl("-n", namespace, "get", "tenants", "-o", "json"))["items"]


def apply_and_wait(run: Run, names: list[str], deadline: float) -> Wave:
    """One `kubectl apply -f -` of `names`, then poll every POLL_SECONDS until all are Ready or the
    deadline passes; times count from just before kubectl starts. Its own loop rather than
    testkit's wait_for: every poll is recorded, the cadence counts from each poll's start (the
    figures' resolution), and a deadline ends the wave with what it has instead of raising."""
    wave = Wave(names)
    cpu_before = process_cpu_seconds(run.operator_pid) if run.operator_pid else None
    manifest = tenants.manifest(*(tenants.tenant(name, displayName=f"Bench tenant {name}") for name in names))
    began = time.monotonic()
    run.tenants_applied.extend(names)
    kubectl("-n", run.namespace, "apply", "-f", "-", input=manifest)
    wave.apply_seconds = time.monotonic() - began
    pending = set(names)
    while pending and time.monotonic() < deadline:
        poll_began = time.monotonic()
        items = list_tenants(run.namespace)
        seen = time.monotonic()
        wave.polls += 1
        wave.poll_seconds += seen - poll_began
        for item in items:
            name = item["metadata"]["name"]
            if name in pending and tenants.ready(item):
                wave.ready_after[name] = seen - began
                server = server_ready_seconds(item)
                if server is not None:
                    wave.server_seconds[name] = server
                pending.discard(name)
        wave.present = len(items)
        wave.ready_present = sum(1 for item in items if tenants.ready(item))
        if pending:
            time.sleep(max(0.0, min(POLL_SECONDS - (time.monotonic() - poll_began), deadline - time.monotonic())))
    wave.waited_seconds = time.monotonic() - began
    if not pending:
        wave.total_seconds = max(wave.ready_after.values())
    if cpu_before is not None:
        wave.operator_cpu_seconds = process_cpu_seconds(run.operator_pid) - cpu_before
    return wave


def wave_summary(wave: Wave, server: bool = False) -> str:
    lat = wave.latencies()
    if not lat:
        return f"none of {len(wave.names)} Ready"
    head = (f"total {wave.total_seconds:.1f} s" if wave.complete
            else f"only {len(lat)}/{len(wave.names)} Ready by the deadline")
    text = f"{head}; per tenant p50 {percentile(lat, 50):.1f} s, p95 {percentile(lat, 95):.1f} s"
    if server and wave.server_seconds:
        values = list(wave.server_seconds.values())
        text += f" (server-side p50 {percentile(values, 50):.0f} s, p95 {percentile(values, 95):.0f} s)"
    return text


def wave_how(wave: Wave) -> str:
    polls = f"{wave.polls} polls, {wave.poll_seconds / wave.polls:.2f} s each" if wave.polls else "no polls"
    server = ""
    if wave.server_seconds:
        values = list(wave.server_seconds.values())
        server = (f"; server-side Ready.lastTransitionTime - creationTimestamp p50 {percentile(values, 50):.0f} s, "
                  f"p95 {percentile(values, 95):.0f} s, max {max(values):.0f} s")
    cpu = ""
    if wave.operator_cpu_seconds is not None:
        cpu = (f"; operator CPU {wave.operator_cpu_seconds:.1f} s "
               f"({1000 * wave.operator_cpu_seconds / len(wave.names):.0f} ms/tenant)")
    return (f"`kubectl apply -f -` of {len(wave.names)} Tenant(s) in one YAML (the command took "
            f"{wave.apply_seconds:.2f} s), then `kubectl get tenants -o json` every {POLL_SECONDS} s ({polls}); "
            f"times from apply start to the poll that first saw Ready=True at observedGeneration == "
            f"generation, so they include kubectl creating the objects one by one (GET, GET namespace, POST each); "
            f"the server-side figures leave that out{server}{cpu}")
