"""The pure helpers of the benchmarks (bench/) and of the load tests' thresholds (loadtest/slo.py)."""
import importlib.util
import sys
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


# --- bench/table.py and loadtest/slo.py: verdicts, the table, SLO thresholds ---------------------

sys.path.insert(0, str(BENCH.parents[1]))  # the repository root: `bench` and `loadtest` are packages there

from bench import table  # noqa: E402
from loadtest.profiles import PROFILES, Thresholds  # noqa: E402
from loadtest.slo import Entry, broken, p95_ms  # noqa: E402


def test_verdicts_compare_with_the_target():
    assert table.at_least(0.8, 0.8) == "PASS" and table.at_least(0.79, 0.8) == "MISS"
    assert table.at_most(5, 5) == "PASS" and table.at_most(6, 5) == "MISS"
    assert table.below(49.9, 50) == "PASS" and table.below(50, 50) == "MISS"


def test_rotation_changes_who_goes_first():
    assert table.rotated(["a", "b", "c"], 0) == ["a", "b", "c"]
    assert table.rotated(["a", "b", "c"], 1) == ["b", "c", "a"]
    assert table.rotated(["a", "b", "c"], 4) == ["b", "c", "a"]
    assert table.rotated([], 3) == []


def test_hit_ratio_between_two_samples():
    assert table.hit_ratio(100, 10, 290, 20) == pytest.approx(190 / 200)
    assert table.hit_ratio(5, 5, 5, 5) is None
    with pytest.raises(ValueError):
        table.hit_ratio(100, 10, 50, 20)  # Redis restarted


def test_largest_passing_stops_at_the_first_step_that_misses():
    steps = [(25, 40.0), (50, 80.0), (100, 250.0), (200, 150.0)]  # 200 passing again is noise, not capacity
    assert table.largest_passing(steps, 200) == 50
    assert table.largest_passing([(25, 200.0)], 200) is None
    assert table.largest_passing([(25, 10.0), (50, None)], 200) == 25


def test_table_has_one_line_per_row_under_a_header():
    text = table.format_table([table.Row("1. trivial", "0.90x", ">= 0.8x", "PASS"), table.Row("2. hello", "1000")])
    lines = text.splitlines()
    assert lines[1].split(" | ")[0].strip() == "figure"
    assert "1. trivial" in lines[3] and lines[3].endswith("PASS")
    assert lines[4].endswith("info") and "| -" in lines[4]
    assert len(lines) == 6


def entry(name: str, ms: int, count: int = 20, failures: int = 0) -> Entry:
    return Entry(name, count, failures, {ms: count})


def test_profiles_hold_the_slo_and_smoke_fits_in_make_test():
    assert PROFILES["load"].thresholds.p95_ms == 200 and PROFILES["soak"].thresholds.p95_ms == 200
    assert PROFILES["smoke"].run_time == "40s"


def test_thresholds_that_hold_give_no_problems():
    limits = Thresholds(p95_ms=200, auth_p95_ms=2000, max_error_ratio=0.01)
    assert broken([entry("dashboard", 50), entry("auth: log-in", 900)], limits) == []


def test_password_hashing_requests_are_judged_on_their_own():
    limits = Thresholds(p95_ms=200, auth_p95_ms=500, max_error_ratio=0.01)
    problems = broken([entry("dashboard", 50), entry("auth: sign-up", 900)], limits)
    assert problems == ["auth_p95_ms: p95 900 ms is above 500 ms (20 requests)"]


def test_a_broken_p95_and_error_ratio_are_both_named():
    limits = Thresholds(p95_ms=0, auth_p95_ms=2000, max_error_ratio=0.01)
    problems = broken([entry("dashboard", 30, count=100, failures=5)], limits)
    assert problems[0].startswith("error ratio 0.0500 (5/100) is above max_error_ratio 0.01")
    assert problems[1] == "p95_ms: p95 30 ms is above 0 ms (100 requests)"


def test_no_requests_is_a_failure_and_p95_merges_names():
    assert broken([], PROFILES["smoke"].thresholds) == ["no requests were made: the run measured nothing"]
    assert p95_ms([entry("a", 10, count=90), entry("b", 500, count=10)]) == 500
    assert p95_ms([]) is None


# --- bench/fleet_bench.py: extrapolation, command output, the process tree ------------------------

from bench import fleet_bench  # noqa: E402


def test_within_a_tolerance_either_way():
    assert table.within(0.2, 0.2) == "PASS" and table.within(-0.2, 0.2) == "PASS"
    assert table.within(0.21, 0.2) == "MISS" and table.within(-0.25, 0.2) == "MISS"


def test_per_schema_leaves_the_start_up_out_and_extrapolates_with_it_once():
    assert fleet_bench.per_schema(10.0, 2.0, 40) == pytest.approx(0.2)
    assert fleet_bench.extrapolated(10.0, 2.0, 40, 1000) == pytest.approx(2.0 + 200.0)
    assert fleet_bench.extrapolated(10.0, 2.0, 40, 40) == pytest.approx(10.0)
    with pytest.raises(ValueError):
        fleet_bench.per_schema(10.0, 2.0, 0)
    with pytest.raises(ValueError):
        fleet_bench.per_schema(1.0, 2.0, 10)  # a start-up longer than the run


def test_change_is_relative_to_the_reference():
    assert fleet_bench.change(110, 100) == pytest.approx(0.1)
    assert fleet_bench.change(90, 100) == pytest.approx(-0.1)
    with pytest.raises(ValueError):
        fleet_bench.change(1, 0)


def test_first_at_finds_the_first_matching_line():
    lines = [(0.4, "Operations to perform:\n"), (0.9, "[1/2 (50%) standard:t_a] === Starting migration\n"),
             (1.1, "[2/2 (100%) standard:t_b] === Starting migration\n")]
    assert fleet_bench.first_at(lines, "=== Starting migration") == 0.9
    assert fleet_bench.first_at(lines, "Applying") is None


def test_migrate_tenants_output_is_parsed():
    output = ("target 1a2b3c4d5e6f: 0 current, 1000 behind, 0 failed before this run\n"
              "  50 migrated, 0 failed (0.4 s)\n"
              "rollout to 1a2b3c4d5e6f: 1000 migrated, 2 failed, 1 changed meanwhile in 6.25 s\n")
    assert fleet_bench.parse_survey(output) == {"version": "1a2b3c4d5e6f", "current": 0, "behind": 1000, "failed": 0}
    assert fleet_bench.parse_rollout(output) == {"version": "1a2b3c4d5e6f", "migrated": 1000, "failed": 2,
                                                 "moved": 1, "seconds": 6.25}
    assert fleet_bench.parse_rollout("CommandError: rollout stopped") is None
    assert fleet_bench.parse_survey("") is None


def test_parent_pid_survives_a_command_name_with_spaces_and_parentheses():
    assert fleet_bench.stat_ppid("4242 (python (x) y) S 4200 4242 4200 0 -1") == 4200


def test_descendants_walk_the_whole_tree_below_the_root():
    parents = {10: 1, 11: 10, 12: 10, 13: 11, 20: 1, 21: 20}
    assert fleet_bench.descendants(parents, 10) == {11, 12, 13}
    assert fleet_bench.descendants(parents, 13) == set()
    assert fleet_bench.descendants({5: 5}, 5) == set()  # a self-parented entry is not its own child


def test_median_index_points_at_the_median_run():
    assert fleet_bench.median_index([3.0, 1.0, 2.0]) == 2
    assert fleet_bench.median_index([4.0, 1.0, 3.0, 2.0]) == 3  # the lower of the two middle values
    assert fleet_bench.median_index([7.0]) == 0
    with pytest.raises(ValueError):
        fleet_bench.median_index([])


def test_highest_peaks_take_each_field_from_any_run():
    merged = fleet_bench.Peaks.highest([fleet_bench.Peaks(100, 300, 250, 5, 2, 10),
                                        fleet_bench.Peaks(120, 200, 150, 1, 4, 30)])
    assert merged == fleet_bench.Peaks(120, 300, 250, 5, 4, 30)
