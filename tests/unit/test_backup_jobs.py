"""Backups as Jobs of the tenant's CronJob: the Job a request makes, and what a finished one records."""
from datetime import UTC, datetime
from types import SimpleNamespace

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


def test_a_request_is_pending_once_per_value_and_only_with_a_schema():
    asked = {ANNOTATION: "v1"}
    assert pending_request(asked, {"schema": "t_acme"}) == "v1"
    assert pending_request(asked, {}) is None  # not provisioned yet
    assert pending_request({}, {"schema": "t_acme"}) is None
    assert pending_request(asked, {"schema": "t_acme", "backupRequest": "v1"}) is None
    assert pending_request({ANNOTATION: "v2"}, {"schema": "t_acme", "backupRequest": "v1"}) == "v2"


def test_a_job_made_by_hand_does_not_make_a_handled_value_pending_again():
    status = {"schema": "t_acme", "backupRequest": "v1",
              "lastBackup": {"request": "by-hand", "job": "by-hand", "succeeded": True}}
    assert pending_request({ANNOTATION: "v1"}, status) is None


def test_a_status_from_before_backup_request_reads_last_backup():
    assert pending_request({ANNOTATION: "v1"}, {"schema": "t_acme", "lastBackup": {"request": "v1"}}) is None
