"""`kubectl annotate tenant X tenantry.dev/backup-now=<value>` -> the operator backs the tenant up now,
once per value, and reports it in status.lastBackup and an event (this run's operator, see harness.app)."""
import hashlib
import json
import time
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from django_tenants.utils import tenant_context

from harness import unique
from tenantry.accounts.services import ensure_member
from tenantry.backups.manifests import read_manifest
from tenantry.backups.models import BackupRun
from tenantry.projects.models import Project
from tenantry.projects.services import create_project
from tenantry.tenancy.models import Tenant

pytestmark = pytest.mark.e2e


def last_backup(app, name: str) -> dict:
    return app.tenant(name).get("status", {}).get("lastBackup") or {}


def request_backup(app, name: str, value: str) -> dict:
    app.kubectl("annotate", "--overwrite", "tenant", name, f"tenantry.dev/backup-now={value}")
    app.wait_for(lambda: last_backup(app, name).get("request") == value, what=f"lastBackup of request {value}")
    return last_backup(app, name)


def test_the_backup_now_annotation_takes_one_backup_per_value(app):
    name = unique("bk")
    schema = "t_" + name.replace("-", "_")
    app.apply_tenant(name)
    app.wait_ready(name)

    first = request_backup(app, name, "2026-11-27T05:00:00Z")
    dump = Path(first["path"])
    assert first["succeeded"] is True, first
    assert dump.parent.name == schema and dump.exists()
    assert first["sha256"] == hashlib.sha256(dump.read_bytes()).hexdigest() == read_manifest(dump).sha256
    runs = BackupRun.objects.filter(schema=schema)
    assert list(runs.values_list("kind", "succeeded", "path")) == [("manual", True, str(dump))]

    events = json.loads(app.kubectl("get", "events", "--field-selector", f"involvedObject.name={name}", "-o", "json"))
    assert any(e["reason"] == "BackupTaken" and str(dump) in e["message"] for e in events["items"])

    # The same value again (the spec changes, events flow) is not a new request.
    app.kubectl("patch", "tenant", name, "--type=merge", "-p", '{"spec": {"displayName": "Renamed"}}')
    app.wait_for(lambda: app.tenant(name)["status"].get("observedGeneration") == 2, what="generation 2 handled")
    time.sleep(1)
    assert runs.count() == 1 and len(list(dump.parent.glob("*.dump"))) == 1

    second = request_backup(app, name, "again")
    assert second["succeeded"] is True and second["path"] != first["path"] and Path(second["path"]).exists()
    assert runs.count() == 2


def test_a_failed_backup_is_reported_not_retried(app):
    name = unique("bkf")
    schema = "t_" + name.replace("-", "_")
    app.apply_tenant(name)
    app.wait_ready(name)
    with connection.cursor() as cursor:
        cursor.execute(f'DROP SCHEMA "{schema}" CASCADE')  # pg_dump now finds nothing to dump

    last = request_backup(app, name, "1")
    assert last["succeeded"] is False and "pg_dump" in last["message"] and last["path"] == ""
    events = json.loads(app.kubectl("get", "events", "--field-selector", f"involvedObject.name={name}", "-o", "json"))
    assert any(e["reason"] == "BackupFailed" and e["type"] == "Warning" for e in events["items"])
    time.sleep(1)
    assert list(BackupRun.objects.filter(schema=schema).values_list("succeeded", flat=True)) == [False]


def test_a_copy_restored_for_a_tenant_name_is_adopted_by_that_tenant(app, tmp_path):
    """The documented path: restore_tenant --new-tenant <namespace>/<name>, then kubectl apply a Tenant
    of that name with the copy's schema and domain; the operator takes it over with its data."""
    name, copy = unique("orig"), unique("copy")
    app.apply_tenant(name)
    app.wait_ready(name)
    original = Tenant.objects.get(resource=f"{app.namespace}/{name}")
    owner, _ = ensure_member(f"owner@{name}.example.com", original.id, "owner")
    with tenant_context(original):
        create_project(owner=owner, name="evidence")
    call_command("backup_tenant", schema=original.schema_name, dir=tmp_path)

    schema, host = "t_" + copy.replace("-", "_"), f"{copy}.localhost"
    call_command("restore_tenant", latest=original.schema_name, dir=tmp_path, new_tenant=f"{app.namespace}/{copy}",
                 schema=schema, domain=[host])
    app.apply_tenant(copy, schema=schema, domains=[host])
    app.wait_ready(copy)

    with tenant_context(Tenant.objects.get(resource=f"{app.namespace}/{copy}")):
        assert list(Project.objects.values_list("name", flat=True)) == ["evidence"]
