"""The pure helpers of the benchmarks (bench/) and of the load tests' thresholds (loadtest/slo.py)."""
import dataclasses
import os

import pytest
import yaml

from bench import capacity, migration_output, procstat, queries, request_path, sampling, servercpu, table, waves
from bench.__main__ import parse_args
from loadtest.profiles import PROFILES, Thresholds
from loadtest.slo import Entry, broken, p95_ms
from testkit import tenants


def test_percentile_interpolates_between_closest_ranks():
    values = [4.0, 1.0, 3.0, 2.0]  # order does not matter
    assert table.percentile(values, 0) == 1.0
    assert table.percentile(values, 100) == 4.0
    assert table.percentile(values, 50) == 2.5
    assert table.percentile(values, 95) == pytest.approx(3.85)
    assert table.percentile(range(1, 101), 95) == pytest.approx(95.05)


def test_percentile_of_one_value_is_that_value():
    assert table.percentile([0.7], 50) == table.percentile([0.7], 95) == 0.7


def test_percentile_refuses_nothing_and_out_of_range():
    with pytest.raises(ValueError):
        table.percentile([], 50)
    with pytest.raises(ValueError):
        table.percentile([1.0], 101)


# --- testkit.tenants as the provisioning figures use it -------------------------------------------

def test_tenant_names_are_numbered_dns_labels():
    assert tenants.names("bench", 0, 3) == ["bench-0000", "bench-0001", "bench-0002"]
    assert tenants.names("bench", 101, 400)[-1] == "bench-0500"


def bench_manifest(names: list[str]) -> str:
    return tenants.manifest(*(tenants.tenant(name, displayName=f"Bench tenant {name}") for name in names))


def test_manifest_holds_one_tenant_per_document():
    names = tenants.names("bench", 1, 100)
    documents = list(yaml.safe_load_all(bench_manifest(names)))
    assert len(documents) == 100
    assert [d["metadata"]["name"] for d in documents] == names
    first = documents[0]
    assert first["apiVersion"] == "tenantry.dev/v1alpha1" and first["kind"] == "Tenant"
    assert first["spec"] == {"displayName": "Bench tenant bench-0001"}
    assert "namespace" not in first["metadata"]  # kubectl -n decides


def test_manifest_can_name_a_namespace():
    (document,) = yaml.safe_load_all(tenants.manifest(tenants.tenant("a", "tenantry-bench-x")))
    assert document["metadata"] == {"name": "a", "namespace": "tenantry-bench-x"}


def test_manifest_carries_any_value_as_data():
    hostile = 'x"\n---\nkind: Secret # {a: [b'
    (document,) = yaml.safe_load_all(tenants.manifest(tenants.tenant("a", displayName=hostile)))
    assert document["spec"] == {"displayName": hostile}


def test_manifest_refuses_no_tenants():
    with pytest.raises(ValueError):
        tenants.manifest()


def tenant(generation: int, *conditions: dict) -> dict:
    return {"metadata": {"generation": generation, "creationTimestamp": "2026-01-01T00:00:00Z"},
            "status": {"conditions": list(conditions)}}


def ready(status: str, observed: int) -> dict:
    return {"type": "Ready", "status": status, "observedGeneration": observed,
            "lastTransitionTime": "2026-01-01T00:00:03Z"}


def test_ready_means_true_for_the_current_generation():
    assert tenants.ready(tenant(1, ready("True", 1)))
    assert tenants.ready(tenant(2, ready("True", 1))) is None  # stale: an older spec was Ready
    assert tenants.ready(tenant(1, ready("False", 1))) is None
    assert tenants.ready(tenant(1, {"type": "SchemaReady", "status": "True", "observedGeneration": 1})) is None
    assert tenants.ready({"metadata": {"generation": 1}}) is None  # no status yet


def test_server_side_ready_time():
    assert waves.server_ready_seconds(tenant(1, ready("True", 1))) == 3.0
    assert waves.server_ready_seconds(tenant(1, ready("False", 1))) is None


# --- bench/procstat.py: /proc readings --------------------------------------------------------------


def test_cpu_ticks_survive_a_command_name_with_spaces_and_parentheses():
    stat = "4242 (kopf (run) x) S 1 4242 4242 0 -1 4194560 100 0 0 0 1234 567 0 0 20 0 7 0"
    assert procstat.cpu_ticks(stat) == 1234 + 567


def test_vm_kib_and_cpu_percent():
    status = "Name:\tpython3\nVmHWM:\t  131072 kB\nVmRSS:\t  102400 kB\n"
    assert procstat.vm_kib(status) == 102400
    assert procstat.vm_kib(status, "VmHWM") == 131072
    with pytest.raises(ValueError):
        procstat.vm_kib(status, "VmSwap")
    assert procstat.cpu_percent(0.3, 30) == pytest.approx(1.0)
    with pytest.raises(ValueError):
        procstat.cpu_percent(1, 0)


def test_parent_pid_survives_a_command_name_with_spaces_and_parentheses():
    assert procstat.stat_ppid("4242 (python (x) y) S 4200 4242 4200 0 -1") == 4200


def test_descendants_walk_the_whole_tree_below_the_root():
    parents = {10: 1, 11: 10, 12: 10, 13: 11, 20: 1, 21: 20}
    assert procstat.descendants(parents, 10) == {11, 12, 13}
    assert procstat.descendants(parents, 13) == set()
    assert procstat.descendants({5: 5}, 5) == set()  # a self-parented entry is not its own child


# --- bench/table.py and loadtest/slo.py: verdicts, the table, SLO thresholds ---------------------


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


# --- the fleet section: extrapolation, command output, runs' peaks --------------------------------

def test_within_a_tolerance_either_way():
    assert table.within(0.2, 0.2) == "PASS" and table.within(-0.2, 0.2) == "PASS"
    assert table.within(0.21, 0.2) == "MISS" and table.within(-0.25, 0.2) == "MISS"


def test_per_schema_leaves_the_start_up_out_and_extrapolates_with_it_once():
    assert migration_output.per_schema(10.0, 2.0, 40) == pytest.approx(0.2)
    assert migration_output.extrapolated(10.0, 2.0, 40, 1000) == pytest.approx(2.0 + 200.0)
    assert migration_output.extrapolated(10.0, 2.0, 40, 40) == pytest.approx(10.0)
    with pytest.raises(ValueError):
        migration_output.per_schema(10.0, 2.0, 0)
    with pytest.raises(ValueError):
        migration_output.per_schema(1.0, 2.0, 10)  # a start-up longer than the run


def test_change_is_relative_to_the_reference():
    assert table.change(110, 100) == pytest.approx(0.1)
    assert table.change(90, 100) == pytest.approx(-0.1)
    with pytest.raises(ValueError):
        table.change(1, 0)


def test_first_at_finds_the_first_matching_line():
    lines = [(0.4, "Operations to perform:\n"), (0.9, "[1/2 (50%) standard:t_a] === Starting migration\n"),
             (1.1, "[2/2 (100%) standard:t_b] === Starting migration\n")]
    assert migration_output.first_at(lines, "=== Starting migration") == 0.9
    assert migration_output.first_at(lines, "Applying") is None


def test_migrate_tenants_output_is_parsed():
    output = ("target 1a2b3c4d5e6f: 0 current, 1000 behind, 0 failed before this run\n"
              "  50 migrated, 0 failed (0.4 s)\n"
              "rollout to 1a2b3c4d5e6f: 1000 migrated, 2 failed, 1 changed meanwhile in 6.25 s\n")
    assert migration_output.parse_survey(output) == {"version": "1a2b3c4d5e6f", "current": 0, "behind": 1000,
                                                     "failed": 0}
    assert migration_output.parse_rollout(output) == {"version": "1a2b3c4d5e6f", "migrated": 1000, "failed": 2,
                                                 "moved": 1, "seconds": 6.25}
    assert migration_output.parse_rollout("CommandError: rollout stopped") is None
    assert migration_output.parse_survey("") is None


def test_median_index_points_at_the_median_run():
    assert sampling.median_index([3.0, 1.0, 2.0]) == 2
    assert sampling.median_index([4.0, 1.0, 3.0, 2.0]) == 3  # the lower of the two middle values
    assert sampling.median_index([7.0]) == 0
    with pytest.raises(ValueError):
        sampling.median_index([])


def test_highest_peaks_take_each_field_from_any_run():
    merged = sampling.Peaks.highest([sampling.Peaks(100, 300, 250, 5, 2, 10),
                                        sampling.Peaks(120, 200, 150, 1, 4, 30)])
    assert merged == sampling.Peaks(120, 300, 250, 5, 4, 30)


# --- the table's rows: verdicts only where a target is, the exit code they give -------------------

def test_a_row_with_a_target_needs_a_verdict_and_one_without_is_info():
    assert table.Row("x", "1", "<= 5", "PASS").verdict == "PASS"
    assert table.Row("x", "1").verdict == "info"
    assert table.Row("x", "boom", ">= 95%", "FAILED").verdict == "FAILED"  # could not be measured
    with pytest.raises(ValueError):
        table.Row("x", "1", "<= 5")  # a target left without a verdict
    with pytest.raises(ValueError):
        table.Row("x", "1", "-", "PASS")  # a verdict against nothing
    with pytest.raises(ValueError):
        table.Row("x", "1", "<= 5", "OK")


def test_rows_sort_by_section_and_keep_their_order_within_one():
    rows = [table.Row("3. provisioning: b", ""), table.Row("1. trivial", ""), table.Row("3. provisioning: a", ""),
            table.Row("1-2. failed", ""), table.Row("2. hello", "")]
    assert [r.label for r in table.by_section(rows)] == ["1. trivial", "1-2. failed", "2. hello",
                                                         "3. provisioning: b", "3. provisioning: a"]


@pytest.mark.parametrize(("verdicts", "errors", "strict", "code"), [
    (["PASS", "info"], [], False, 0),
    (["PASS", "info"], [], True, 0),
    (["PASS", "MISS"], [], False, 0),  # a miss is reported, not a failure...
    (["PASS", "MISS"], [], True, 1),  # ...unless --strict
    (["PASS", "FAILED"], [], False, 1),  # a measurement that failed always fails the run
    (["PASS"], ["cleanup, dropping the database: OperationalError"], False, 1),  # so does any error
    ([], [], True, 0),
])
def test_exit_code(verdicts, errors, strict, code):
    rows = [table.Row(f"{i}. x", "v", "-" if verdict == "info" else "t", verdict) for i, verdict in enumerate(verdicts)]
    assert table.exit_code(rows, errors, strict) == code


def test_strict_is_off_unless_asked_for():
    assert parse_args([]).strict is False
    assert parse_args(["--strict"]).strict is True


def result(rps: float, p95: float = 20.0, failures: int = 0) -> request_path.Result:
    return request_path.Result(requests=1000, failures=failures, rps=rps, p50_ms=p95 / 2, p95_ms=p95)


def test_request_path_rows_judge_every_target():
    results = {(page, kind): [result(rps)] for page in request_path.PAGES
               for kind, rps in (("tenantry", 900.0), ("stock", 300.0), ("plain", 1000.0))}
    results[("trivial page", "hello")] = [result(2000.0)]
    rows = request_path.rows(results, {"light": result(50.0, p95=12.0)})
    verdicts = {row.label: row.verdict for row in rows}
    assert verdicts["1. trivial page: Tenantry / plain"] == "PASS"  # 0.9x >= 0.9x
    assert verdicts["1. tenant home: Tenantry / plain"] == "PASS"  # 0.9x >= 0.85x
    assert verdicts["1. warm dashboard: Tenantry / plain"] == "info"  # no target for that page
    assert verdicts["1. warm dashboard: Tenantry / stock"] == "PASS"  # 3x >= 1.5x
    assert verdicts["1. trivial page: Tenantry / stock"] == "info"
    assert verdicts["2. Tenantry trivial page / bare WSGI"] == "PASS"  # 45 % >= 40 %
    assert verdicts["1. warm dashboard p95, 1 user (light load)"] == "PASS"
    assert "1-2. failed requests while measuring" not in verdicts
    results[("tenant home", "stock")] = [result(300.0, failures=3)]
    assert request_path.rows(results, {"light": result(50.0, p95=60.0)})[-1].verdict == "MISS"


def test_capacity_rows_fail_the_cache_figure_when_the_load_step_never_ran():
    load = PROFILES["load"].users
    steps = [capacity.Step(25, 500, 0, 50.0, 80.0, 0.5), capacity.Step(load, 900, 0, 90.0, 150.0, 0.97)]
    cpu, cache, users = capacity.rows(steps)
    assert cpu.verdict == "FAILED"  # no CPU figure is no pass
    assert (cache.verdict, users.verdict) == ("PASS", "MISS")  # 97 % hits; 100 users is not 150
    assert users.value.startswith(f"{load} ")
    cpu, cache, users = capacity.rows(steps[:1])
    assert (cpu.verdict, cache.verdict, users.verdict) == ("FAILED", "FAILED", "MISS")


def test_capacity_judges_server_cpu_per_request_at_the_load_profile():
    load = PROFILES["load"].users
    window = servercpu.breakdown(before={"web": 1.0, "PostgreSQL": 2.0, "PgBouncer": 0.0, "Redis": 0.0, "Locust": 0.0},
                                 after={"web": 6.0, "PostgreSQL": 3.0, "PgBouncer": 0.5, "Redis": 0.5, "Locust": 2.0},
                                 wall_seconds=10.0, rps=100.0)  # 7 server CPU-seconds for 1,000 requests
    cpu, per_second, *_ = capacity.rows([capacity.Step(load, 1000, 0, 100.0, 150.0, 0.98, window)])
    assert cpu.verdict == "PASS" and cpu.value.startswith("7.0 ms (web 5.0, PostgreSQL 1.0, PgBouncer 0.5")
    assert per_second.value.startswith("143 ")  # 1,000 requests / 7 s
    assert f"{2 / (10 * os.cpu_count()):.0%} of the machine" in per_second.value  # 2 CPU-s in 10 s
    slower = dataclasses.replace(window, cpu_seconds={**window.cpu_seconds, "web": 6.0})
    cpu, *_ = capacity.rows([capacity.Step(load, 1000, 0, 100.0, 150.0, 0.98, slower)])
    assert cpu.verdict == "MISS"  # 8 ms > 7.7 ms


def test_server_cpu_counts_a_tree_with_its_exited_children():
    line = "4242 (gunicorn: worker [x)]) S 1 2 3 4 5 6 7 8 9 10 100 20 7 3 20 0 1 0"
    assert servercpu.tree_ticks(line) == 130  # utime 100 + stime 20 + cutime 7 + cstime 3
    with pytest.raises(ValueError, match="no requests"):
        servercpu.breakdown({}, {}, wall_seconds=5.0, rps=0.0)
    with pytest.raises(ValueError, match="Locust"):
        servercpu.breakdown({"web": 0.0}, {"web": 1.0}, wall_seconds=5.0, rps=10.0)


def test_queries_rows_leave_the_transaction_out_of_the_count():
    (row,) = queries.rows([("dashboard", ["BEGIN", "SET LOCAL", "SELECT", "SELECT", "COMMIT"])])
    assert row.value.startswith("2 (5 statements") and row.verdict == "PASS"
    (row,) = queries.rows([("dashboard", ["SELECT"] * 6)])
    assert row.verdict == "MISS" and "no transaction" in row.value


def test_profile_counts_only_the_statements_that_ran_in_its_window():
    from bench.profile import Statement, statements_between, statements_report

    before = {1: Statement("SELECT a", 10, 1.0, 10), 2: Statement("SELECT b", 5, 0.5, 5)}
    after = {1: Statement("SELECT a", 30, 1.5, 30), 2: Statement("SELECT b", 5, 0.5, 5),
             3: Statement("UPDATE c", 4, 2.0, 4)}
    ran = statements_between(before, after)
    assert [(s.query, s.calls) for s in ran] == [("UPDATE c", 4), ("SELECT a", 20)]  # b did not run; most time first
    assert statements_report(ran, requests=8).startswith("24 statements in 2.50 s of execution for 8 requests: "
                                                         "3.00 statements and 312.50 ms per request")
