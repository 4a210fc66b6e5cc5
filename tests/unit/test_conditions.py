from tenantry_operator.conditions import is_true, set_condition


def test_adds_a_condition_with_generation_and_time():
    conditions = set_condition([], "Ready", True, "Reconciled", "ok", generation=3, at="2026-01-01T00:00:00Z")
    assert conditions == [{"type": "Ready", "status": "True", "reason": "Reconciled", "message": "ok",
                           "observedGeneration": 3, "lastTransitionTime": "2026-01-01T00:00:00Z"}]


def test_keeps_transition_time_when_status_does_not_change():
    first = set_condition([], "Ready", True, "Reconciled", "ok", 1, at="2026-01-01T00:00:00Z")
    second = set_condition(first, "Ready", True, "Reconciled", "still ok", 2, at="2026-02-02T00:00:00Z")
    assert second[0]["lastTransitionTime"] == "2026-01-01T00:00:00Z"
    assert second[0]["observedGeneration"] == 2 and second[0]["message"] == "still ok"


def test_moves_transition_time_when_status_flips_and_leaves_others_alone():
    start = set_condition([], "SchemaReady", True, "SchemaProvisioned", "ok", 1, at="2026-01-01T00:00:00Z")
    start = set_condition(start, "Ready", True, "Reconciled", "ok", 1, at="2026-01-01T00:00:00Z")
    flipped = set_condition(start, "Ready", False, "Provisioning", "db down", 2, at="2026-03-03T00:00:00Z")
    assert [c["type"] for c in flipped] == ["SchemaReady", "Ready"]
    assert flipped[1]["lastTransitionTime"] == "2026-03-03T00:00:00Z"
    assert flipped[0] == start[0]
    assert not is_true(flipped, "Ready") and is_true(flipped, "SchemaReady")
