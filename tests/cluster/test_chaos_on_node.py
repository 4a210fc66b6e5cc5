"""`make cluster-chaos` as a test: every fault of the node in turn (pods deleted, a container killed,
the operator's leader deleted while Tenants are applied, the kubelet, containerd and PostgreSQL
restarted) under the API load through Traefik. Errors may happen while a fault lasts (a killed
container's requests in flight); what must not: an acknowledged write lost or stored twice, a fault
the node does not recover from, a Tenant that does not converge. The table goes to
.local/cluster/reports/cluster-chaos.txt."""
import json
import uuid

import pytest

from chaos.cluster import NODE
from chaos.drill import run_all, table
from node_client import NAMESPACE, api_load, kubectl, ledger_of, report

pytestmark = [pytest.mark.usefixtures("the_node"), pytest.mark.timeout(900)]


def test_no_fault_of_the_node_loses_a_write_or_leaves_a_tenant_behind():
    names = [f"chaos-{uuid.uuid4().hex[:6]}-{n}" for n in range(3)]
    try:
        with api_load(clients=4) as load:
            rows = run_all(NODE.faults(list(NODE.fault_names), names), load, lambda: ledger_of(load))
        final = ledger_of(load)
        report("cluster-chaos", table(rows) + f"\n\n{final.acknowledged} writes acknowledged; lost "
                                              f"{len(final.lost)}, duplicated {len(final.duplicated)}")
    finally:
        kubectl("-n", NAMESPACE, "delete", "tenants", *names, "--ignore-not-found", "--timeout=180s")
    assert [r.fault for r in rows] == [f.name for f in NODE.faults(list(NODE.fault_names), names)]
    assert [(r.fault, r.failure, r.lost, r.duplicates, str(r.converged)) for r in rows if not r.ok] == []
    assert not final.lost and not final.duplicated
    # The operator's pods came and went (the leader deleted, the kubelet restarted): the admission
    # webhook they share is still registered.
    webhooks = json.loads(kubectl("get", "validatingwebhookconfiguration", f"tenantry.dev.{NAMESPACE}",
                                  "-o", "json").stdout).get("webhooks") or []
    assert [w["name"] for w in webhooks], "the Tenant webhook left the configuration with an operator pod"
