"""The operator's not-Ready age: what the "tenant stuck not-Ready" alert reads."""
from datetime import datetime

import pytest
from prometheus_client import REGISTRY

from tenantry_operator import metrics

CREATED = "2026-01-01T00:00:00Z"
T0 = datetime.fromisoformat(CREATED).timestamp()


@pytest.fixture(autouse=True)
def no_tenants():
    for uid in list(metrics._phases):
        metrics.record_phase(uid, None)
    yield
    for uid in list(metrics._phases):
        metrics.record_phase(uid, None)


def ready(status: str, at: str) -> dict:
    return {"conditions": [{"type": "SchemaReady", "status": "True", "lastTransitionTime": CREATED},
                           {"type": "Ready", "status": status, "lastTransitionTime": at}]}


def test_not_ready_since_is_the_ready_conditions_transition_time():
    assert metrics.not_ready_since(ready("False", "2026-01-01T00:10:00Z"), CREATED) == T0 + 600


def test_a_tenant_without_a_ready_condition_counts_from_its_creation():
    assert metrics.not_ready_since({}, CREATED) == T0
    assert metrics.not_ready_since(ready("True", "2026-01-02T00:00:00Z"), CREATED) == T0


def test_the_gauge_is_zero_when_every_tenant_is_ready_or_suspended():
    metrics.record_phase("a", "Ready")
    metrics.record_phase("b", "Suspended")
    assert metrics.oldest_not_ready_seconds(T0 + 1000) == 0.0


def test_the_gauge_follows_the_oldest_not_ready_tenant_until_it_settles():
    metrics.record_phase("young", "Provisioning", since=T0 + 900)
    metrics.record_phase("old", "Failed", since=T0 + 100)
    metrics.record_phase("fine", "Ready")
    assert metrics.oldest_not_ready_seconds(T0 + 1000) == 900
    metrics.record_phase("old", "Ready")
    assert metrics.oldest_not_ready_seconds(T0 + 1000) == 100
    metrics.record_phase("young", None)  # deleted
    assert metrics.oldest_not_ready_seconds(T0 + 1000) == 0.0


def test_a_tenant_without_a_known_start_keeps_the_first_time_it_was_seen_not_ready():
    metrics.record_phase("t", "Terminating")
    first = metrics._not_ready_since["t"]
    metrics.record_phase("t", "Terminating")
    assert metrics._not_ready_since["t"] == first


def test_the_registry_serves_the_age_computed_at_scrape_time():
    metrics.record_phase("stuck", "Provisioning", since=T0)
    served = REGISTRY.get_sample_value("tenantry_operator_oldest_not_ready_seconds")
    assert served == pytest.approx(datetime.now().timestamp() - T0, abs=5)
