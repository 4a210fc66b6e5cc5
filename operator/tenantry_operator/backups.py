"""Backups the operator takes in its own process: the final backup of a Delete policy (deletion),
and, on `make up`, which has no kubelet to run a Job, the backup-now request
(TENANTRY_BACKUP_NOW=inline). Its pod mounts the backup storage and has a direct database connection,
so the result (path, sha256) is known at once. Also: the run a finished backup Job recorded.
Kopf-free; `main` wires it.
"""
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from django.db import close_old_connections

from tenantry.backups.manifests import Manifest
from tenantry.backups.models import BackupRun
from tenantry.backups.services import take_backup
from tenantry_operator.backup_jobs import timestamp
from tenantry_operator.config import OperatorConfig


def backup_now(schema: str, request: str, config: OperatorConfig,
               take: Callable[[str, Path, str], tuple[BackupRun, Manifest]] = take_backup) -> dict:
    """Take, verify and record a manual backup; return `status.lastBackup` (also for a failure, which
    is reported rather than retried: a new annotation value asks again). `take` is injected so unit
    tests can stand in for pg_dump and the BackupRun row."""
    close_old_connections()
    try:
        run, manifest = take(schema, Path(config.backup_dir), BackupRun.Kind.MANUAL)
    except Exception as exc:  # the run is recorded as failed; the status says why
        return {"request": request, "time": timestamp(datetime.now(UTC)), "succeeded": False, "path": "", "sha256": "",
                "message": f"{type(exc).__name__}: {exc}"[:1000]}
    finally:
        close_old_connections()
    return {"request": request, "time": timestamp(run.finished_at),
            "succeeded": True, "path": run.path, "sha256": run.sha256,
            "message": f"{manifest.size_bytes} bytes, {sum(manifest.tables.values())} rows in "
                       f"{len(manifest.tables)} tables, verified"}


def run_since(schema: str, started: str) -> BackupRun | None:
    """The newest run of `schema` that began at or after `started` (a Job's RFC 3339 startTime)."""
    close_old_connections()
    try:
        since = datetime.fromisoformat(started.replace("Z", "+00:00")) if started else datetime.min.replace(tzinfo=UTC)
        return BackupRun.objects.filter(schema=schema, started_at__gte=since).order_by("-started_at").first()
    finally:
        close_old_connections()
