"""The pure parts of the web observability: tenant label admission, request ids, Server-Timing,
the business gauges' cache, and folding a dead worker's metric files into the archive."""
import pytest
from prometheus_client.mmap_dict import MmapedDict, mmap_key
from prometheus_client.multiprocess import MultiProcessCollector
from redis.exceptions import ConnectionError as RedisConnectionError

from tenantry.observability.business import BusinessCollector
from tenantry.observability.middleware import request_id, server_timing
from tenantry.observability.tenant_metrics import OVERFLOW, LabelAdmission, status_class
from tenantry.observability.worker_files import archive_path, reset, retire_worker


def capped(cap: int):
    """An in-memory stand-in for the Redis script: admits the first `cap` tenants it is asked about."""
    admitted, asked = set(), []

    def admit(tenant):
        asked.append(tenant)
        if tenant in admitted or len(admitted) < cap:
            admitted.add(tenant)
            return True
        return False

    return admit, asked


def test_tenants_beyond_the_cap_share_the_overflow_label():
    admit, _ = capped(2)
    admission = LabelAdmission(admit)
    assert [admission.label(t) for t in ["a", "b", "c", "a", "d"]] == ["a", "b", OVERFLOW, "a", OVERFLOW]


def test_each_tenant_is_decided_once_per_process():
    admit, asked = capped(1)
    admission = LabelAdmission(admit)
    for _ in range(3):
        admission.label("a"), admission.label("b")
    assert asked == ["a", "b"]


def test_a_redis_failure_counts_as_overflow_and_is_asked_again():
    answers = iter([RedisConnectionError("down"), True])

    def admit(tenant):
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    admission = LabelAdmission(admit)
    assert (admission.label("a"), admission.label("a")) == (OVERFLOW, "a")


@pytest.mark.parametrize("status, expected", [(200, "2xx"), (302, "3xx"), (404, "4xx"), (503, "5xx")])
def test_status_class(status, expected):
    assert status_class(status) == expected


@pytest.mark.parametrize("incoming", ["abc-123", "f" * 128, "req.1:2_3"])
def test_a_sane_incoming_request_id_is_kept(incoming):
    assert request_id(incoming) == incoming


@pytest.mark.parametrize("incoming", [None, "", "x" * 129, "a b", "id\nforged log line", '"quoted"'])
def test_an_unusable_request_id_is_replaced(incoming):
    generated = request_id(incoming)
    assert generated != incoming and len(generated) == 32 and int(generated, 16) >= 0


def test_server_timing_is_in_milliseconds():
    assert server_timing(0.01234, 0.0005) == "app;dur=12.3, db;dur=0.5"


def test_business_gauges_are_read_at_most_once_per_max_age():
    now, reads = [0.0], []
    collector = BusinessCollector(read=lambda: reads.append(now[0]) or [f"read at {now[0]}"],
                                  max_age_seconds=5, clock=lambda: now[0])
    first = collector.collect()
    now[0] = 4.9
    assert collector.collect() == first == ["read at 0.0"]
    now[0] = 5.0
    assert collector.collect() == ["read at 5.0"] and reads == [0.0, 5.0]


def write_samples(path, *samples: tuple[str, str, dict, float]) -> None:
    """A worker's file, as prometheus-client writes it: (metric, sample name, labels, value)."""
    data = MmapedDict(str(path))
    for metric, name, labels, value in samples:
        data.write_value(mmap_key(metric, name, list(labels), list(labels.values()), "help"), value, 0.0)
    data.close()


def scraped(directory) -> dict[tuple, float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in MultiProcessCollector(None, str(directory)).collect() for s in family.samples}


def test_retiring_workers_keeps_every_count_and_leaves_no_file_of_theirs(tmp_path):
    reset(tmp_path)
    tenant = {"tenant": "t_a"}
    for pid, n in [(101, 3.0), (102, 4.0), (103, 5.0)]:
        write_samples(tmp_path / f"counter_{pid}.db",
                      ("tenantry_tenant_requests", "tenantry_tenant_requests_total", tenant, n))
        write_samples(tmp_path / f"histogram_{pid}.db",
                      ("latency_seconds", "latency_seconds_bucket", {**tenant, "le": "0.1"}, n),
                      ("latency_seconds", "latency_seconds_bucket", {**tenant, "le": "+Inf"}, 1.0),
                      ("latency_seconds", "latency_seconds_sum", tenant, n / 10))
        write_samples(tmp_path / f"gauge_all_{pid}.db", ("in_flight", "in_flight", {}, 1.0))
    counted_before = {k: v for k, v in scraped(tmp_path).items() if k[0] != "in_flight"}

    retire_worker(tmp_path, 101)
    retire_worker(tmp_path, 102)

    after = scraped(tmp_path)
    assert {k: v for k, v in after.items() if k[0] != "in_flight"} == counted_before
    assert after[("tenantry_tenant_requests_total", (("tenant", "t_a"),))] == 12.0
    assert after[("latency_seconds_count", (("tenant", "t_a"),))] == 15.0
    assert [k for k in after if k[0] == "in_flight"] == [("in_flight", (("pid", "103"),))]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "counter_103.db", "counter_archive.db", "gauge_all_103.db", "histogram_103.db", "histogram_archive.db"]
    assert archive_path(tmp_path, "counter").exists()


def test_reset_removes_files_of_an_earlier_master(tmp_path):
    write_samples(tmp_path / "counter_7.db", ("c", "c_total", {}, 1.0))
    (tmp_path / "notes.txt").write_text("kept")
    reset(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]
