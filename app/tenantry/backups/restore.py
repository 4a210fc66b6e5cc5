"""Restoring a tenant backup: into its own schema after a loss, or into a new tenant as a copy.

A custom-format dump names its schema in every statement, and pg_restore cannot rename it. So the
restore streams pg_restore's SQL script into psql and retargets the schema name on the way, in the
schema-definition lines only: rows travel in COPY blocks, which are passed through untouched, so no
value is ever rewritten. pg_dump qualifies every reference (it runs with an empty search_path) and
tenant schema names never need quoting, so the references are easy to find; afterwards the catalog
is checked to prove the copy depends on nothing in the original schema. Everything runs in one
transaction: a failure leaves the database as it was. Verification then compares every table's
row count and checksum with the manifest.
"""
import re
import subprocess
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

import psycopg
from psycopg import sql

from tenantry.backups import digests
from tenantry.backups.manifests import BackupError, Manifest, backup_root, read_manifest
from tenantry.backups.services import client_argv, client_env, conninfo, verify_backup
from tenantry.tenancy import naming
from tenantry.tenancy.models import Domain, Tenant
from tenantry.tenancy.services import TenantSpec, provision_tenant

COPY_END = b"\\.\n"


def retarget(lines: Iterable[bytes], source: str, target: str) -> Iterator[bytes]:
    """pg_restore's SQL script with schema `source` renamed to `target` outside the COPY data."""
    if source == target:
        yield from lines
        return
    src, dst = source.encode(), target.encode()
    qualified = re.compile(rb'(?<![\w$."])' + re.escape(src) + rb"(?=\.)")
    schema_ddl = re.compile(rb"(?<=SCHEMA )" + re.escape(src) + rb"(?=[;\s])")
    in_copy = False
    for line in lines:
        if in_copy:
            in_copy = line != COPY_END
            yield line
            continue
        line = schema_ddl.sub(dst, qualified.sub(dst, line))
        in_copy = line.startswith(b"COPY ") and line.rstrip().endswith(b"FROM stdin;")
        yield line


def schema_tables(schema: str) -> int | None:
    """How many tables `schema` holds; None when it does not exist."""
    with psycopg.connect(**conninfo()) as conn:
        row = conn.execute("SELECT count(c.oid) FROM pg_namespace n LEFT JOIN pg_class c ON c.relnamespace = n.oid "
                           "AND c.relkind IN ('r', 'p') WHERE n.nspname = %s GROUP BY n.oid", [schema]).fetchone()
    return None if row is None else row[0]


def restore_schema(manifest_path: Path, target: str | None = None, force: bool = False) -> Manifest:
    """Restore the backup of `manifest_path` into `target` (default: the schema it was taken from),
    then verify it. An existing schema with tables is only replaced with `force`; an empty one is."""
    manifest = read_manifest(manifest_path)
    verify_backup(backup_root(manifest_path), manifest)
    target = naming.validate_schema(target or manifest.schema)
    held = schema_tables(target)
    if held and not force:
        raise BackupError(f"schema {target} exists and holds {held} tables: restoring would overwrite it. "
                          "Restore into a new tenant instead, or pass --force to replace it")
    preamble = b"" if held is None else sql.SQL("DROP SCHEMA {} CASCADE;\n").format(
        sql.Identifier(target)).as_string().encode()
    _run_script(manifest.dump_path(backup_root(manifest_path)), manifest.schema, target, preamble)
    verify_restored(target, manifest)
    return manifest


def _run_script(dump: Path, source: str, target: str, preamble: bytes) -> None:
    info = conninfo()
    with tempfile.TemporaryFile() as restore_err, tempfile.TemporaryFile() as psql_err:
        reader = subprocess.Popen(["pg_restore", "--no-owner", "--no-privileges", "--file=-", str(dump)],
                                  stdout=subprocess.PIPE, stderr=restore_err)
        writer = subprocess.Popen(["psql", "-X", "-q", "--single-transaction", "-v", "ON_ERROR_STOP=1",
                                   *client_argv(info)], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                  stderr=psql_err, env=client_env(info))
        reader_failed_first = False
        try:
            writer.stdin.write(preamble)
            for line in retarget(reader.stdout, source, target):
                writer.stdin.write(line)
            if reader.wait() != 0:  # psql must not commit half a script: end it with a failing statement
                reader_failed_first = True
                writer.stdin.write(b"SELECT 1/0;\n")
        except BrokenPipeError:
            pass  # psql stopped at an error; its message is read below
        finally:
            reader.stdout.close()
            _close_quietly(writer.stdin)
        reader.wait()
        writer.wait()
        # When psql stops at an error, pg_restore's broken pipe is only the consequence, and the other way round.
        culprits = [(writer, psql_err, "psql"), (reader, restore_err, "pg_restore")]
        for process, errors, what in reversed(culprits) if reader_failed_first else culprits:
            if process.returncode != 0:
                errors.seek(0)
                raise BackupError(f"restore of {dump} into {target} failed; nothing was changed. {what}: "
                                  f"{errors.read().decode(errors='replace').strip()[-2000:]}")


def _close_quietly(pipe) -> None:
    try:
        pipe.close()
    except BrokenPipeError:
        pass  # psql already stopped


def verify_restored(schema: str, manifest: Manifest) -> None:
    """Every table of `schema` has the manifest's row count and checksum, and (for a copy) nothing in
    it depends on the schema the backup was taken from."""
    with psycopg.connect(**conninfo(), autocommit=False) as conn:
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        found = digests.table_digests(conn, schema)
        leaks = [] if schema == manifest.schema else conn.execute(
            dependencies_query(), [manifest.schema, schema]).fetchall()
        conn.rollback()
    problems = digests.differences(manifest.digests(), found)
    problems += [f"{what} depends on {manifest.schema}" for (what,) in leaks]
    if problems:
        raise BackupError(f"restored schema {schema} does not match backup {manifest.dump_file}: "
                          + "; ".join(problems))


def dependencies_query() -> sql.SQL:
    """Objects of the second schema that depend on a relation or type of the first one."""
    return sql.SQL(
        "SELECT DISTINCT pg_describe_object(d.classid, d.objid, d.objsubid) FROM pg_depend d"
        " JOIN pg_namespace src ON src.nspname = %s"
        " LEFT JOIN pg_class rc ON d.refclassid = 'pg_class'::regclass AND rc.oid = d.refobjid"
        " LEFT JOIN pg_type rt ON d.refclassid = 'pg_type'::regclass AND rt.oid = d.refobjid"
        " CROSS JOIN LATERAL pg_identify_object(d.classid, d.objid, d.objsubid) dep"
        " WHERE (rc.relnamespace = src.oid OR rt.typnamespace = src.oid) AND dep.schema = %s")


def restore_as_new_tenant(manifest_path: Path, spec: TenantSpec) -> Tenant:
    """A copy of a tenant for investigation: the backup restored under `spec.schema`, registered as a
    tenant of its own (public rows, domains, no plan unless the spec names one). `spec.resource` is the
    Tenant object that may adopt it later (`<namespace>/<name>`), so the operator can manage the copy."""
    spec = spec.validated()
    if Tenant.objects.filter(resource=spec.resource).exists():
        raise BackupError(f"tenant {spec.resource} already exists: choose another name for the copy")
    if Tenant.objects.filter(schema_name=spec.schema).exists() or schema_tables(spec.schema) is not None:
        raise BackupError(f"schema {spec.schema} is taken: a copy needs a new schema")
    taken = Domain.objects.filter(domain__in=spec.domains).values_list("domain", flat=True)
    if taken:
        raise BackupError(f"domains already served by another tenant: {', '.join(taken)}")
    restore_schema(manifest_path, spec.schema)
    try:
        return provision_tenant(spec)
    except Exception:
        _drop_schema(spec.schema)  # a copy nobody can reach must not linger
        raise


def _drop_schema(schema: str) -> None:
    with psycopg.connect(**conninfo(), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(naming.validate_schema(schema))))

