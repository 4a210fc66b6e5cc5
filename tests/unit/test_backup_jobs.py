"""Backups as Jobs of the tenant's CronJob: the Job a request makes, and what a finished one records."""
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from tenantry_operator.backup_jobs import (
    ANNOTATION,
    REQUEST_ANNOTATION,
    finished,
    job_name,
    last_backup,
    manual_job,
    outdated,
    pending_request,
)
from tenantry_operator.children import backup_cronjob
from tenantry_operator.config import OperatorConfig

NOW = datetime(2026, 12, 1, 12, 0, 5, tzinfo=UTC)


def cronjob() -> dict:
    obj = backup_cronjob("acme", "team", "uid-1", "t_acme", {"retention": 3}, False,
                         OperatorConfig(image="registry.example/tenantry:1.0", backup_pvc="backups"))
    obj["metadata"]["uid"] = "cronjob-uid"  # what the API server adds
    return obj


def test_a_request_makes_a_job_from_the_cronjob_template_owned_by_the_cronjob():
    job = manual_job(cronjob(), "2026-12-01T12:00:00Z")
    assert job["kind"] == "Job" and job["metadata"]["namespace"] == "team"
    assert job["spec"] == cronjob()["spec"]["jobTemplate"]["spec"]
    assert job["metadata"]["labels"] == {"tenantry.dev/tenant": "acme"}
    assert job["metadata"]["annotations"][REQUEST_ANNOTATION] == "2026-12-01T12:00:00Z"
    assert job["metadata"]["ownerReferences"][0] | {"uid": "?"} == {
        "apiVersion": "batch/v1", "kind": "CronJob", "name": "tenant-acme-backup", "uid": "?",
        "controller": True, "blockOwnerDeletion": True}


def test_every_job_of_the_cronjob_carries_the_tenant_label():
    assert cronjob()["spec"]["jobTemplate"]["metadata"]["labels"] == {"tenantry.dev/tenant": "acme"}


def test_one_job_name_per_request_and_no_longer_than_a_label_value():
    longest = "tenant-" + "a" * 38 + "-backup"
    assert job_name(longest, "x") == job_name(longest, "x") != job_name(longest, "y")
    assert len(job_name(longest, "x")) <= 63


def test_finished_reads_the_complete_and_failed_conditions():
    assert finished({}) is None
    assert finished({"conditions": [{"type": "Suspended", "status": "True"}]}) is None
    assert finished({"conditions": [{"type": "Complete", "status": "True"}]}) is True
    assert finished({"conditions": [{"type": "FailureTarget", "status": "True"},
                                    {"type": "Failed", "status": "True"}]}) is False


def run(succeeded=True, error=""):
    return SimpleNamespace(succeeded=succeeded, error=error, path="/backups/t_acme/x.dump", sha256="ab" * 32,
                           finished_at=datetime(2026, 12, 1, 12, 0, 3, tzinfo=UTC))


def test_a_completed_job_records_its_run_under_its_request():
    last = last_backup("tenant-acme-backup-1", {REQUEST_ANNOTATION: "now"}, True, run(), NOW)
    assert last == {"request": "now", "job": "tenant-acme-backup-1", "time": "2026-12-01T12:00:03Z",
                    "succeeded": True, "path": "/backups/t_acme/x.dump", "sha256": "ab" * 32,
                    "message": "verified by Job tenant-acme-backup-1"}


def test_a_job_made_by_hand_is_its_own_request():
    assert last_backup("by-hand", {}, True, run(), NOW)["request"] == "by-hand"


def test_a_failed_run_reports_its_error_and_a_job_without_a_run_says_so():
    failed = last_backup("j", {}, False, run(succeeded=False, error="pg_dump: connection refused"), NOW)
    assert failed["succeeded"] is False and failed["message"] == "pg_dump: connection refused"
    lost = last_backup("j", {}, False, None, NOW)
    assert lost["succeeded"] is False and lost["time"] == "2026-12-01T12:00:05Z" and "pod's log" in lost["message"]


def test_only_a_new_result_is_recorded():
    started = {"request": "now", "job": "j1", "time": "2026-12-01T12:00:00Z", "message": "Job j1 started"}
    assert not outdated(started, "j1", "2026-12-01T12:00:01Z")  # its own start record: fill it in
    assert outdated(started | {"succeeded": True}, "j1", "2026-12-01T12:00:01Z")  # done already
    assert outdated(started | {"succeeded": True}, "older", "2026-11-30T03:00:00Z")  # history seen again
    assert not outdated(started | {"succeeded": True}, "newer", "2026-12-02T03:00:00Z")
    assert not outdated({}, "first", "2026-12-01T03:00:00Z")


PROVISIONED = {"schema": "t_acme"}
HANDLED = PROVISIONED | {"backupRequest": "v1"}
IN_FLIGHT = HANDLED | {"lastBackup": {"request": "v1", "job": "tenant-acme-backup-1", "time": "2026-12-01T12:00:00Z",
                                      "message": "Job tenant-acme-backup-1 started"}}
BY_HAND_SINCE = HANDLED | {"lastBackup": {"request": "by-hand", "job": "by-hand", "succeeded": True}}
BEFORE_BACKUP_REQUEST = PROVISIONED | {"lastBackup": {"request": "v1"}}  # a status an older operator wrote

PENDING = {  # annotations, status, the value still to handle
    "no annotation": ({}, PROVISIONED, None),
    "no annotations at all": (None, PROVISIONED, None),
    "a first value": ({ANNOTATION: "v1"}, PROVISIONED, "v1"),
    "not provisioned yet": ({ANNOTATION: "v1"}, {}, None),
    "the value handled": ({ANNOTATION: "v1"}, HANDLED, None),
    "a new value": ({ANNOTATION: "v2"}, HANDLED, "v2"),
    "an empty value": ({ANNOTATION: ""}, PROVISIONED, ""),
    "an empty value handled": ({ANNOTATION: ""}, PROVISIONED | {"backupRequest": ""}, None),
    "its Job still running": ({ANNOTATION: "v1"}, IN_FLIGHT, None),
    "a new value while a Job runs": ({ANNOTATION: "v2"}, IN_FLIGHT, "v2"),  # a second Job: not held back
    "a Job made by hand since": ({ANNOTATION: "v1"}, BY_HAND_SINCE, None),
    "handled by an older operator": ({ANNOTATION: "v1"}, BEFORE_BACKUP_REQUEST, None),
    "new since an older operator": ({ANNOTATION: "v2"}, BEFORE_BACKUP_REQUEST, "v2"),
}


@pytest.mark.parametrize("case", PENDING, ids=list(PENDING))
def test_a_request_is_pending_once_per_value_and_only_with_a_schema(case):
    annotations, status, pending = PENDING[case]
    assert pending_request(annotations, status) == pending
