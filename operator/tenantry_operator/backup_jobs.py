"""Backup requests, backups as Jobs of the tenant's CronJob, and `status.lastBackup` from the Job
that ran.

`kubectl annotate tenant acme tenantry.dev/backup-now=<any value>` asks for a backup; each value is
handled once (`status.backupRequest` remembers the last one), so a restart or a resync never repeats
a backup and a new value asks for another. In a cluster the request creates a Job from the tenant's
backup CronJob, exactly what `kubectl create job --from=cronjob/tenant-<name>-backup` does: the dump
is taken by a pod of its own, with the CronJob's image, volume and limits, not inside the operator.
Every Job of a tenant's CronJob (scheduled, annotated or made by hand) carries the
`tenantry.dev/tenant` label from the job template, so when one finishes the operator records the run
it made (the BackupRun row: path, sha256) in the Tenant's `status.lastBackup`. `make up` has no
kubelet to run a Job and takes the annotated backup in the operator's own process
(`backups.backup_now`, TENANTRY_BACKUP_NOW=inline).

Pure functions here; `main` wires them to Kopf and the API.
"""
import hashlib
from datetime import UTC, datetime

from tenantry_operator import GROUP

ANNOTATION = f"{GROUP}/backup-now"
TENANT_LABEL = f"{GROUP}/tenant"
REQUEST_ANNOTATION = f"{GROUP}/backup-request"


def pending_request(annotations: dict, status: dict) -> str | None:
    """The annotation value still to handle, or None (none set, already handled, or no schema yet).
    Before `status.backupRequest` existed, `lastBackup.request` held the handled value; it no longer
    can, since a Job made by hand or by the schedule replaces lastBackup."""
    value = (annotations or {}).get(ANNOTATION)
    handled = status.get("backupRequest", (status.get("lastBackup") or {}).get("request"))
    if value is None or not status.get("schema") or value == handled:
        return None
    return value


def job_name(cronjob_name: str, request: str) -> str:
    """One Job per request value: creating it twice is a 409, never a second backup."""
    return f"{cronjob_name}-{hashlib.sha256(request.encode()).hexdigest()[:10]}"


def manual_job(cronjob: dict, request: str) -> dict:
    """A Job from the CronJob's template, owned by the CronJob (deleted with it), as `kubectl create
    job --from` makes one, with the request it answers in an annotation."""
    template = cronjob["spec"]["jobTemplate"]
    metadata = cronjob["metadata"]
    return {
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {
            "name": job_name(metadata["name"], request), "namespace": metadata["namespace"],
            "labels": dict(template.get("metadata", {}).get("labels", {})),
            "annotations": {"cronjob.kubernetes.io/instantiate": "manual", REQUEST_ANNOTATION: request},
            "ownerReferences": [{"apiVersion": "batch/v1", "kind": "CronJob", "name": metadata["name"],
                                 "uid": metadata["uid"], "controller": True, "blockOwnerDeletion": True}],
        },
        "spec": template["spec"],
    }


def finished(job_status: dict) -> bool | None:
    """True for a Job that completed, False for one that failed for good, None while it runs."""
    for condition in job_status.get("conditions") or []:
        if condition.get("status") == "True" and condition.get("type") in ("Complete", "Failed"):
            return condition["type"] == "Complete"
    return None


def outdated(current: dict, job: str, started: str) -> bool:
    """Whether the finished Job `job` (started at `started`, RFC 3339) has nothing to add to the
    Tenant's `current` lastBackup: its result is there already, or a newer backup is (an older Job of
    the CronJob's history is seen again when the operator restarts)."""
    if current.get("job") == job:
        return "succeeded" in current
    return current.get("time", "") > started


def last_backup(job_name_: str, annotations: dict, succeeded: bool, run, now: datetime) -> dict:
    """`status.lastBackup` for a finished Job; `run` is the BackupRun it recorded (None when the pod
    never got as far as the database)."""
    request = (annotations or {}).get(REQUEST_ANNOTATION, job_name_)
    if run is None or run.succeeded is None:
        return {"request": request, "job": job_name_, "time": timestamp(now), "succeeded": False,
                "path": "", "sha256": "", "message": f"Job {job_name_} {'completed' if succeeded else 'failed'} "
                                                     "without a finished backup run; read its pod's log"}
    ok = bool(run.succeeded) and succeeded
    return {"request": request, "job": job_name_, "time": timestamp(run.finished_at), "succeeded": ok,
            "path": run.path, "sha256": run.sha256,
            "message": f"verified by Job {job_name_}" if ok else (run.error or f"Job {job_name_} failed")[:1000]}


def timestamp(moment: datetime) -> str:
    """RFC 3339 in UTC, second precision, as Kubernetes writes times."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
