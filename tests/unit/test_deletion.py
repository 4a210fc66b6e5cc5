"""Every outcome of deleting a Tenant, with the database stood in for: what is backed up, what is
released and dropped, and in which order (the end-to-end suite drives the same function against a real one)."""
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tenantry.backups.manifests import BackupError, Manifest
from tenantry.backups.models import BackupRun
from tenantry_operator.config import OperatorConfig
from tenantry_operator.deletion import Services, delete_tenant

CONFIG = OperatorConfig(backup_dir="/srv/backups")
MANIFEST = Manifest(schema="t_acme", created_at="2026-12-01T12:00:00Z", dump_file="20261201T120000000000Z.dump",
                    size_bytes=4096, sha256="0123456789abcdef" * 4, tables={"projects_project": 3})


@dataclass
class Fakes:
    """Stand-ins that log every call, in order, in `calls`; `fail_backup` makes the backup fail."""
    schema_there: bool = True
    fail_backup: Exception | None = None
    calls: list = field(default_factory=list)

    def schema_exists(self, schema: str) -> bool:
        self.calls.append(("exists", schema))
        return self.schema_there

    def take_backup(self, schema: str, directory: Path, kind: str) -> tuple[object, Manifest]:
        self.calls.append(("backup", schema, directory, kind))
        if self.fail_backup:
            raise self.fail_backup
        return object(), MANIFEST

    def release_tenant(self, resource: str, drop_schema: bool) -> None:
        self.calls.append(("release", resource, drop_schema))

    def services(self) -> Services:
        return Services(schema_exists=self.schema_exists, take_backup=self.take_backup,
                        release_tenant=self.release_tenant)


WITH_SCHEMA = {"schema": "t_acme"}
FINAL_BACKUP = ("backup", "t_acme", Path("/srv/backups"), BackupRun.Kind.FINAL)

CASES = {
    "Retain": ({"deletionPolicy": "Retain"}, WITH_SCHEMA, Fakes(),
               [("release", "ns/acme", False)], "routing removed; schema and rows retained"),
    "no policy (Retain)": ({}, WITH_SCHEMA, Fakes(),
                           [("release", "ns/acme", False)], "routing removed; schema and rows retained"),
    "Delete": ({"deletionPolicy": "Delete"}, WITH_SCHEMA, Fakes(),
               [("exists", "t_acme"), FINAL_BACKUP, ("release", "ns/acme", True)],
               "final backup t_acme/20261201T120000000000Z.dump (4096 bytes, sha256 0123456789ab) verified; "
               "schema dropped"),
    "Delete, schema already gone": ({"deletionPolicy": "Delete"}, WITH_SCHEMA, Fakes(schema_there=False),
                                    [("exists", "t_acme"), ("release", "ns/acme", True)],
                                    "routing removed; no schema to back up"),
    "Delete, never provisioned": ({"deletionPolicy": "Delete"}, {}, Fakes(),
                                  [("release", "ns/acme", True)], "routing removed; no schema to back up"),
    "Retain, never provisioned": ({"deletionPolicy": "Retain"}, {}, Fakes(),
                                  [("release", "ns/acme", False)], "routing removed; schema and rows retained"),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_each_outcome_of_a_deletion(case):
    spec, status, fakes, calls, message = CASES[case]
    assert delete_tenant("ns", "acme", spec, status, CONFIG, fakes.services()) == message
    assert fakes.calls == calls


def test_a_failed_final_backup_drops_nothing_and_keeps_the_finalizer():
    fakes = Fakes(fail_backup=BackupError("pg_dump: connection refused"))
    with pytest.raises(BackupError, match="connection refused"):  # Kopf retries the handler
        delete_tenant("ns", "acme", {"deletionPolicy": "Delete"}, WITH_SCHEMA, CONFIG, fakes.services())
    assert fakes.calls == [("exists", "t_acme"), FINAL_BACKUP], "the tenant is neither released nor dropped"
