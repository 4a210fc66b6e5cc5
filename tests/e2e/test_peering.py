"""Two operator replicas in one namespace: only one reconciles; when it dies, the standby takes over."""
import os
import signal
import uuid

import pytest

from conftest import RUN_ID
from harness import start_or_fail
from localplatform.components import operator
from localplatform.proc import log_file, port_open, read_pid, stop
from localplatform.stack import ensure_namespace, kubectl
from testkit import tenants
from testkit.net import free_port

pytestmark = pytest.mark.e2e
PEERING = "tenantry"


def handled(replica, namespace: str, name: str) -> bool:
    return f"tenant {namespace}/{name} is Ready" in log_file(replica.name).read_text(errors="replace")


def test_two_replicas_only_one_reconciles_and_the_standby_takes_over(app):
    namespace = f"tenantry-peer-{uuid.uuid4().hex[:6]}"
    ensure_namespace(namespace)
    kubectl("-n", namespace, "apply", "-f", "-",
            input=f"apiVersion: kopf.dev/v1\nkind: KopfPeering\nmetadata:\n  name: {PEERING}\n")
    replicas = [operator(name=f"operator-peer-{side}-{RUN_ID}", port=free_port(), namespace=namespace,
                         db_name=app.db_name, peering=PEERING, peering_lifetime_seconds=5, drift_interval_seconds=600)
                for side in "ab"]
    start_or_fail(replicas)
    try:
        first = f"first-{uuid.uuid4().hex[:6]}"
        kubectl("-n", namespace, "apply", "-f", "-", input=tenants.manifest(tenants.tenant(first)))
        kubectl("-n", namespace, "wait", "--for=condition=Ready", f"tenant/{first}", "--timeout=60s")
        active = [r for r in replicas if handled(r, namespace, first)]
        assert len(active) == 1, "exactly one replica must have reconciled the tenant"
        [standby] = [r for r in replicas if r is not active[0]]

        os.killpg(read_pid(active[0].name), signal.SIGKILL)
        app.wait_for(lambda: read_pid(active[0].name) is None and not port_open(active[0].port), timeout=10,
                     what="the active replica to die")
        second = f"second-{uuid.uuid4().hex[:6]}"
        kubectl("-n", namespace, "apply", "-f", "-", input=tenants.manifest(tenants.tenant(second)))
        kubectl("-n", namespace, "wait", "--for=condition=Ready", f"tenant/{second}", "--timeout=90s")
        assert handled(standby, namespace, second)
        kubectl("-n", namespace, "delete", "tenants", "--all", "--timeout=60s")
    finally:
        for replica in replicas:
            stop(replica.name)
        kubectl("delete", "namespace", namespace, "--wait=false")
