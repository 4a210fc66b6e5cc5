"""Per-tenant backups with pg_dump: a manifest that matches the dump, and pruning."""
import hashlib
import json
import subprocess

import pytest
from django.core.management import CommandError, call_command
from django_tenants.utils import tenant_context

from tenantry.backups.services import backup_schema, prune
from tenantry.projects.services import create_project

pytestmark = pytest.mark.integration


def test_a_backup_holds_the_tenants_rows_and_its_manifest_proves_it(tenant, other_tenant, tmp_path):
    owner = tenant.user("owner")
    with tenant_context(tenant.tenant):
        for n in range(3):
            create_project(owner=owner, name=f"p{n}")
    with tenant_context(other_tenant.tenant):
        create_project(owner=owner, name="not in this backup")

    manifest = backup_schema(tenant.schema, tmp_path)
    dump = tmp_path / tenant.schema / manifest.dump_file
    assert manifest.tables["projects_project"] == 3
    assert manifest.size_bytes == dump.stat().st_size
    assert manifest.sha256 == hashlib.sha256(dump.read_bytes()).hexdigest()
    assert json.loads(dump.with_suffix(".json").read_text())["sha256"] == manifest.sha256

    listing = subprocess.run(["pg_restore", "--list", str(dump)], capture_output=True, text=True, check=True).stdout
    assert f"SCHEMA - {tenant.schema}" in listing
    assert "TABLE DATA " + tenant.schema + " projects_project" in listing
    assert other_tenant.schema not in listing


def test_prune_keeps_the_newest(tenant, tmp_path):
    names = [backup_schema(tenant.schema, tmp_path).dump_file for _ in range(3)]
    assert prune(tenant.schema, tmp_path, keep=2) == [names[0].removesuffix(".dump")]
    assert sorted(p.name for p in (tmp_path / tenant.schema).glob("*.dump")) == sorted(names[1:])


@pytest.mark.parametrize("schema", ["public", "pg_catalog", "x; DROP SCHEMA public"])
def test_the_command_refuses_schemas_that_are_not_tenants(schema, tmp_path, database):
    with pytest.raises(CommandError, match="schema"):
        call_command("backup_tenant", schema=schema, dir=tmp_path)
