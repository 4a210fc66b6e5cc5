"""Per-tenant backups with pg_dump: manifests that prove a restore, restores (in place and as a new
tenant), refusals, pruning, full backups and the run records the metrics read."""
import hashlib
import json
import subprocess
from datetime import timedelta

import psycopg
import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone
from django_tenants.utils import tenant_context

from harness import unique
from tenantry.backups import digests
from tenantry.backups.models import BackupRun
from tenantry.backups.restore import restore_as_new_tenant, restore_schema, retarget
from tenantry.backups.selectors import backup_health
from tenantry.backups.services import (
    BackupError,
    backup_all,
    backup_schema,
    client_argv,
    client_env,
    conninfo,
    prune,
    take_backup,
)
from tenantry.projects.models import Project
from tenantry.projects.services import create_project
from tenantry.tenancy.models import Tenant
from tenantry.tenancy.services import TenantSpec
from testkit.net import direct

pytestmark = pytest.mark.integration


def digests_of(schema: str, db: str | None = None) -> dict[str, digests.TableDigest]:
    with psycopg.connect(**{**conninfo(), **({"dbname": db} if db else {})}) as conn:
        return digests.table_digests(conn, schema)


def drop_schema(schema: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f'DROP SCHEMA "{schema}" CASCADE')


def manifest_path(root, manifest):
    return manifest.dump_path(root).with_suffix(".json")


@pytest.fixture
def filled(tenant):
    """A tenant with three projects, one whose name looks like a schema reference."""
    owner = tenant.user("owner")
    with tenant_context(tenant.tenant):
        for name in ("alpha", "beta", f"{tenant.schema}.projects_project"):
            create_project(owner=owner, name=name, description="naïve — ünïcode")
    return tenant


def test_a_backup_holds_the_tenants_rows_and_its_manifest_proves_it(filled, other_tenant, tmp_path):
    with tenant_context(other_tenant.tenant):
        create_project(owner=other_tenant.user("owner"), name="not in this backup")

    manifest = backup_schema(filled.schema, tmp_path)
    dump = tmp_path / filled.schema / manifest.dump_file
    assert manifest.tables["projects_project"] == 3
    assert manifest.checksums == {table: d.md5 for table, d in digests_of(filled.schema).items()}
    assert manifest.size_bytes == dump.stat().st_size
    assert manifest.sha256 == hashlib.sha256(dump.read_bytes()).hexdigest()
    assert json.loads(dump.with_suffix(".json").read_text())["sha256"] == manifest.sha256

    listing = subprocess.run(["pg_restore", "--list", str(dump)], capture_output=True, text=True, check=True).stdout
    assert f"SCHEMA - {filled.schema}" in listing
    assert "TABLE DATA " + filled.schema + " projects_project" in listing
    assert other_tenant.schema not in listing


def test_backup_drop_restore_gives_identical_checksums(filled, tmp_path):
    before = digests_of(filled.schema)
    call_command("backup_tenant", schema=filled.schema, dir=tmp_path)
    drop_schema(filled.schema)

    call_command("restore_tenant", latest=filled.schema, dir=tmp_path)

    assert digests_of(filled.schema) == before
    with tenant_context(filled.tenant):
        assert sorted(Project.objects.values_list("name", flat=True))[:2] == ["alpha", "beta"]


def test_a_restore_refuses_to_overwrite_a_live_schema_unless_forced(filled, tmp_path):
    manifest = backup_schema(filled.schema, tmp_path)
    with tenant_context(filled.tenant):
        create_project(owner=filled.user("owner"), name="written after the backup")

    with pytest.raises(CommandError, match=f"schema {filled.schema} exists and holds .* --force"):
        call_command("restore_tenant", manifest=manifest_path(tmp_path, manifest))
    with tenant_context(filled.tenant):
        assert Project.objects.filter(name="written after the backup").exists()

    restore_schema(manifest_path(tmp_path, manifest), force=True)
    with tenant_context(filled.tenant):
        assert not Project.objects.filter(name="written after the backup").exists()
        assert Project.objects.count() == 3


def test_restore_into_a_new_tenant_makes_an_isolated_copy(filled, tmp_path):
    manifest = backup_schema(filled.schema, tmp_path)
    name = unique("copy")
    schema, host = "t_" + name.replace("-", "_"), f"{name}.test.localhost"

    copy = restore_as_new_tenant(manifest_path(tmp_path, manifest), TenantSpec(
        resource=f"restores/{name}", schema=schema, display_name="copy", domains=(host,), plan=None))

    assert copy.schema_name == schema and copy.state == Tenant.State.ACTIVE
    assert list(copy.domains.values_list("domain", flat=True)) == [host]
    assert digests_of(schema) == digests_of(filled.schema)
    with tenant_context(copy):  # the row that names the original schema kept its value
        assert Project.objects.filter(name=f"{filled.schema}.projects_project").exists()
        create_project(owner=filled.user("owner"), name="only in the copy")
    with tenant_context(filled.tenant):
        assert not Project.objects.filter(name="only in the copy").exists()
        Project.objects.filter(name="alpha").delete()
    with tenant_context(copy):
        assert Project.objects.filter(name="alpha").exists()
    drop_schema(filled.schema)  # the copy stands alone: no table, sequence or key of the original
    with tenant_context(copy):
        assert Project.objects.count() == 4
        assert create_project(owner=filled.user("owner"), name="sequence still works").pk


def test_a_copy_needs_a_new_schema_and_free_domains(filled, other_tenant, tmp_path):
    path = manifest_path(tmp_path, backup_schema(filled.schema, tmp_path))
    with pytest.raises(BackupError, match=f"schema {other_tenant.schema} is taken"):
        restore_as_new_tenant(path, TenantSpec(resource="restores/x", schema=other_tenant.schema,
                                               display_name="x", domains=("x.test.localhost",), plan=None))
    with pytest.raises(BackupError, match=f"domains already served by another tenant: {other_tenant.host}"):
        restore_as_new_tenant(path, TenantSpec(resource="restores/y", schema="t_" + unique("y").replace("-", "_"),
                                               display_name="y", domains=(other_tenant.host,), plan=None))


def test_a_damaged_or_missing_backup_is_a_clear_error(filled, tmp_path):
    manifest = backup_schema(filled.schema, tmp_path)
    path, dump = manifest_path(tmp_path, manifest), manifest.dump_path(tmp_path)
    data = bytearray(dump.read_bytes())
    data[len(data) // 2] ^= 0xFF
    dump.write_bytes(bytes(data))
    with pytest.raises(CommandError, match="does not match its manifest .* damaged"):
        call_command("restore_tenant", manifest=path, schema="t_" + unique("r").replace("-", "_"))

    dump.unlink()
    with pytest.raises(BackupError, match=f"backup {dump} is missing"):
        restore_schema(path, "t_" + unique("r").replace("-", "_"))
    path.unlink()
    with pytest.raises(BackupError, match="manifest .* is missing"):
        restore_schema(path)
    with pytest.raises(CommandError, match="no backup of"):
        call_command("restore_tenant", latest=filled.schema, dir=tmp_path)


def test_a_restore_that_breaks_half_way_changes_nothing(filled, tmp_path):
    """A dump cut short after its table of contents (sha256 re-signed, so only pg_restore notices)."""
    manifest = backup_schema(filled.schema, tmp_path)
    path, dump = manifest_path(tmp_path, manifest), manifest.dump_path(tmp_path)
    dump.write_bytes(dump.read_bytes()[:int(manifest.size_bytes * 0.9)])
    doctored = json.loads(path.read_text())
    doctored.update(size_bytes=dump.stat().st_size, sha256=hashlib.sha256(dump.read_bytes()).hexdigest())
    path.write_text(json.dumps(doctored))
    target = "t_" + unique("h").replace("-", "_")

    with pytest.raises(BackupError, match=f"restore of {dump} into {target} failed; nothing was changed. pg_restore"):
        restore_schema(path, target)
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [target])
        assert cursor.fetchone() is None


def test_a_restore_that_differs_from_the_manifest_fails_verification(filled, tmp_path):
    manifest = backup_schema(filled.schema, tmp_path)
    path = manifest_path(tmp_path, manifest)
    doctored = json.loads(path.read_text())
    doctored["checksums"]["projects_project"] = "0" * 32
    path.write_text(json.dumps(doctored))
    with pytest.raises(BackupError, match="projects_project: same 3 rows but different content"):
        restore_schema(path, "t_" + unique("v").replace("-", "_"))


def test_retarget_renames_definitions_but_never_data():
    script = [b"CREATE SCHEMA t_a;\n", b"CREATE TABLE t_a.x (id bigint DEFAULT nextval('t_a.x_id_seq'));\n",
              b"COPY t_a.x (id, name) FROM stdin;\n", b"1\tt_a.x\n", b"\\.\n", b"ALTER TABLE ONLY t_a.x ADD y;\n",
              b"CREATE TABLE t_a.t_a (id int);\n", b"CREATE TABLE t_ab.z ();\n"]
    assert list(retarget(script, "t_a", "t_b")) == [
        b"CREATE SCHEMA t_b;\n", b"CREATE TABLE t_b.x (id bigint DEFAULT nextval('t_b.x_id_seq'));\n",
        b"COPY t_b.x (id, name) FROM stdin;\n", b"1\tt_a.x\n", b"\\.\n", b"ALTER TABLE ONLY t_b.x ADD y;\n",
        b"CREATE TABLE t_b.t_a (id int);\n", b"CREATE TABLE t_ab.z ();\n"]


def test_prune_keeps_the_newest(tenant, tmp_path):
    names = [backup_schema(tenant.schema, tmp_path).dump_file for _ in range(3)]
    assert prune(tenant.schema, tmp_path, keep=2) == [names[0].removesuffix(".dump")]
    assert sorted(p.name for p in (tmp_path / tenant.schema).glob("*.dump")) == sorted(names[1:])
    assert sorted(p.name for p in (tmp_path / tenant.schema).glob("*.json")) == sorted(
        n.replace(".dump", ".json") for n in names[1:])
    call_command("backup_tenant", schema=tenant.schema, dir=tmp_path, keep=1)
    assert len(list((tmp_path / tenant.schema).glob("*.dump"))) == 1


@pytest.mark.parametrize("schema", ["public", "pg_catalog", "x; DROP SCHEMA public"])
def test_the_command_refuses_schemas_that_are_not_tenants(schema, tmp_path, database):
    with pytest.raises(CommandError, match="schema"):
        call_command("backup_tenant", schema=schema, dir=tmp_path)


def test_a_full_backup_restores_every_schema_identically(filled, tmp_path, database):
    """As docs/backups.md says, as the app's role: without the dump's extension entries, which only
    the extension's owner (a superuser) may restore; the new database has its extensions already."""
    manifest = backup_all(tmp_path)
    assert {f"{filled.schema}.projects_project", "public.tenancy_tenant"} <= manifest.tables.keys()
    dump = manifest.dump_path(tmp_path)
    toc = subprocess.run(["pg_restore", "--list", str(dump)], capture_output=True, text=True, check=True).stdout
    assert " EXTENSION - pg_stat_statements" in toc, "the database's extension should be in the dump"
    listing = tmp_path / "restore.list"
    listing.write_text("".join(f"{line}\n" for line in toc.splitlines() if " EXTENSION " not in line))
    scratch = f"{database}_full_{unique('r').split('-')[1]}"
    with direct() as conn:
        conn.execute(f'CREATE DATABASE "{scratch}"')
    try:
        info = {**conninfo(), "dbname": scratch}
        subprocess.run(["pg_restore", "--no-owner", "--exit-on-error", f"--use-list={listing}", *client_argv(info),
                        str(dump)], env=client_env(info), check=True, capture_output=True)
        restored = {f"{filled.schema}.{t}": d for t, d in digests_of(filled.schema, scratch).items()}
        restored |= {f"public.{t}": d for t, d in digests_of("public", scratch).items()}
        assert {key: manifest.digests()[key] for key in restored} == restored
    finally:
        with direct() as conn:
            conn.execute(f'DROP DATABASE "{scratch}" WITH (FORCE)')


def test_runs_are_recorded_and_feed_backup_health(tenant, other_tenant, tmp_path):
    run, manifest = take_backup(tenant.schema, tmp_path, BackupRun.Kind.MANUAL)
    assert (run.tenant_id, run.kind, run.succeeded, run.sha256) == (tenant.tenant.id, "manual", True, manifest.sha256)
    assert run.path == str(manifest.dump_path(tmp_path)) and run.finished_at >= run.started_at

    drop_schema(other_tenant.schema)
    with pytest.raises(BackupError, match="pg_dump"):
        take_backup(other_tenant.schema, tmp_path, BackupRun.Kind.SCHEDULED)
    failed = BackupRun.objects.get(schema=other_tenant.schema)
    assert failed.succeeded is False and failed.tenant_id == other_tenant.tenant.id and failed.error

    now = timezone.now()
    overdue, failed_last_day = backup_health(now, max_age_seconds=3600)
    Tenant.objects.filter(pk__in=[tenant.tenant.pk, other_tenant.tenant.pk]).update(created_at=now - timedelta(days=3))
    # Both are now old enough to need a backup; only the one without a successful run is overdue.
    assert backup_health(now, max_age_seconds=3600) == (overdue + 1, failed_last_day)
    assert failed_last_day >= 1
    # A tenant whose spec turns backups off is not waiting for one.
    Tenant.objects.filter(pk=other_tenant.tenant.pk).update(backups_enabled=False)
    assert backup_health(now, max_age_seconds=3600) == (overdue, failed_last_day)
    assert backup_health(now + timedelta(days=2), max_age_seconds=3600)[1] == 0
