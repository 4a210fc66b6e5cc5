"""The pure helpers of bench/operator_bench.py (the benchmark itself is not part of the suite)."""
import importlib.util
from pathlib import Path

import pytest
import yaml

BENCH = Path(__file__).resolve().parents[2] / "bench" / "operator_bench.py"
_spec = importlib.util.spec_from_file_location("operator_bench", BENCH)
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)


def test_percentile_interpolates_between_closest_ranks():
    values = [4.0, 1.0, 3.0, 2.0]  # order does not matter
    assert bench.percentile(values, 0) == 1.0
    assert bench.percentile(values, 100) == 4.0
    assert bench.percentile(values, 50) == 2.5
    assert bench.percentile(values, 95) == pytest.approx(3.85)
    assert bench.percentile(range(1, 101), 95) == pytest.approx(95.05)


def test_percentile_of_one_value_is_that_value():
    assert bench.percentile([0.7], 50) == bench.percentile([0.7], 95) == 0.7


def test_percentile_refuses_nothing_and_out_of_range():
    with pytest.raises(ValueError):
        bench.percentile([], 50)
    with pytest.raises(ValueError):
        bench.percentile([1.0], 101)


def test_tenant_names_are_numbered_dns_labels():
    assert bench.tenant_names("bench", 0, 3) == ["bench-0000", "bench-0001", "bench-0002"]
    assert bench.tenant_names("bench", 101, 400)[-1] == "bench-0500"


def test_manifest_holds_one_tenant_per_document():
    names = bench.tenant_names("bench", 1, 100)
    documents = list(yaml.safe_load_all(bench.tenant_manifest(names)))
    assert len(documents) == 100
    assert [d["metadata"]["name"] for d in documents] == names
    first = documents[0]
    assert first["apiVersion"] == "tenantry.dev/v1alpha1" and first["kind"] == "Tenant"
    assert first["spec"] == {"displayName": "Bench tenant bench-0001"}
    assert "namespace" not in first["metadata"]  # kubectl -n decides


def test_manifest_can_name_a_namespace():
    (document,) = yaml.safe_load_all(bench.tenant_manifest(["a"], namespace="tenantry-bench-x"))
    assert document["metadata"] == {"name": "a", "namespace": "tenantry-bench-x"}


@pytest.mark.parametrize("bad", ["", "Upper", "under_score", "-lead", "trail-", "x" * 64])
def test_manifest_refuses_names_kubernetes_would_reject(bad):
    with pytest.raises(ValueError):
        bench.tenant_manifest([bad])


def test_manifest_refuses_no_tenants():
    with pytest.raises(ValueError):
        bench.tenant_manifest([])


def tenant(generation: int, *conditions: dict) -> dict:
    return {"metadata": {"generation": generation, "creationTimestamp": "2026-01-01T00:00:00Z"},
            "status": {"conditions": list(conditions)}}


def ready(status: str, observed: int) -> dict:
    return {"type": "Ready", "status": status, "observedGeneration": observed,
            "lastTransitionTime": "2026-01-01T00:00:03Z"}


def test_ready_means_true_for_the_current_generation():
    assert bench.ready_condition(tenant(1, ready("True", 1)))
    assert bench.ready_condition(tenant(2, ready("True", 1))) is None  # stale: an older spec was Ready
    assert bench.ready_condition(tenant(1, ready("False", 1))) is None
    assert bench.ready_condition(tenant(1, {"type": "SchemaReady", "status": "True", "observedGeneration": 1})) is None
    assert bench.ready_condition({"metadata": {"generation": 1}}) is None  # no status yet


def test_server_side_ready_time():
    assert bench.server_ready_seconds(tenant(1, ready("True", 1))) == 3.0
    assert bench.server_ready_seconds(tenant(1, ready("False", 1))) is None


def test_cpu_ticks_survive_a_command_name_with_spaces_and_parentheses():
    stat = "4242 (kopf (run) x) S 1 4242 4242 0 -1 4194560 100 0 0 0 1234 567 0 0 20 0 7 0"
    assert bench.cpu_ticks(stat) == 1234 + 567


def test_vm_kib_and_cpu_percent():
    status = "Name:\tpython3\nVmHWM:\t  131072 kB\nVmRSS:\t  102400 kB\n"
    assert bench.vm_kib(status) == 102400
    assert bench.vm_kib(status, "VmHWM") == 131072
    with pytest.raises(ValueError):
        bench.vm_kib(status, "VmSwap")
    assert bench.cpu_percent(0.3, 30) == pytest.approx(1.0)
    with pytest.raises(ValueError):
        bench.cpu_percent(1, 0)
