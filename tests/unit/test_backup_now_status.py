"""The backup-now request taken in the operator's own process: what `status.lastBackup` says after a
backup that worked and after one that failed, with pg_dump and the BackupRun row stood in for."""
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

from tenantry.backups.manifests import BackupError, Manifest
from tenantry.backups.models import BackupRun
from tenantry_operator.backups import backup_now
from tenantry_operator.config import OperatorConfig

CONFIG = OperatorConfig(backup_dir="/srv/backups")


class Taker:
    """take_backup's stand-in: records what it was asked for, then returns `result` or raises it."""

    def __init__(self, result):
        self.result, self.asked = result, []

    def __call__(self, schema: str, directory: Path, kind: str):
        self.asked.append((schema, directory, kind))
        if isinstance(self.result, Exception):
            raise self.result
        return self.result


def test_a_backup_that_worked_reports_where_it_is_and_what_it_holds():
    run = SimpleNamespace(finished_at=datetime(2026, 12, 1, 13, 0, 3, tzinfo=UTC), sha256="ab" * 32,
                          path="/srv/backups/t_acme/20261201T130000000000Z.dump")
    manifest = Manifest(schema="t_acme", created_at="2026-12-01T13:00:00Z", dump_file="20261201T130000000000Z.dump",
                        size_bytes=4096, sha256="ab" * 32, tables={"projects_project": 3, "projects_task": 7})
    take = Taker((run, manifest))
    assert backup_now("t_acme", "v1", CONFIG, take) == {
        "request": "v1", "time": "2026-12-01T13:00:03Z", "succeeded": True,
        "path": "/srv/backups/t_acme/20261201T130000000000Z.dump", "sha256": "ab" * 32,
        "message": "4096 bytes, 10 rows in 2 tables, verified"}
    assert take.asked == [("t_acme", Path("/srv/backups"), BackupRun.Kind.MANUAL)]


def test_a_backup_that_failed_is_reported_not_raised():
    before = datetime.now(UTC).replace(microsecond=0)
    last = backup_now("t_acme", "v2", CONFIG, Taker(BackupError("pg_dump: " + "x" * 2000)))
    time = datetime.fromisoformat(last.pop("time").replace("Z", "+00:00"))
    assert before <= time <= datetime.now(UTC)
    assert last == {"request": "v2", "succeeded": False, "path": "", "sha256": "",
                    "message": ("BackupError: pg_dump: " + "x" * 2000)[:1000]}
    assert len(last["message"]) == 1000
