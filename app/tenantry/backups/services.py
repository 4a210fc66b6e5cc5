"""Logical backups: a pg_dump of one tenant schema (or of the whole database) plus a manifest that
can prove a restore.

Row counts and content checksums in the manifest are taken in the *same snapshot* pg_dump reads (an
exported snapshot held open for the length of the dump), so a later verification can compare them
exactly even while the tenant keeps writing. Files are written under a temporary name and renamed,
so a crash never leaves a dump that looks complete. Every tenant backup taken through `take_backup`
is recorded as a BackupRun, which the metrics read.
"""
import hashlib
import os
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from django.db import connection
from django.utils import timezone

from tenantry.backups import digests
from tenantry.backups.manifests import (
    DUMP_SUFFIX,
    FULL_BACKUP_FOLDER,
    MANIFEST_SUFFIX,
    BackupError,
    Manifest,
    write_manifest,
)
from tenantry.backups.models import BackupRun
from tenantry.tenancy import naming
from tenantry.tenancy.models import Tenant


def conninfo() -> dict:
    """Backups and restores talk to PostgreSQL directly, never through the transaction pooler."""
    s = connection.settings_dict
    if s.get("POOLED"):
        raise BackupError("backups need a direct PostgreSQL connection (TENANTRY_DB_POOLED=0): a "
                          "transaction pooler cannot hold the exported snapshot pg_dump reads")
    return {"host": s["HOST"], "port": str(s["PORT"]), "user": s["USER"], "password": s["PASSWORD"],
            "dbname": s["NAME"]}


def client_argv(info: dict) -> list[str]:
    """Connection arguments of pg_dump, pg_restore and psql (the password goes in PGPASSWORD)."""
    return ["-h", info["host"], "-p", info["port"], "-U", info["user"], "-d", info["dbname"]]


def client_env(info: dict) -> dict:
    return {**os.environ, "PGPASSWORD": info["password"]}


def backup_schema(schema: str, directory: Path) -> Manifest:
    """pg_dump of one tenant schema to <directory>/<schema>/, with row counts and checksums."""
    naming.validate_schema(schema)
    return _dump(Path(directory) / schema, schema, [f"--schema={schema}"],
                 lambda conn: digests.table_digests(conn, schema))


def backup_all(directory: Path) -> Manifest:
    """pg_dump of the whole database (public, the template and every tenant) to <directory>/_all/;
    the manifest's tables are `schema.table`. docs/backups.md says how to restore it (extensions need care)."""
    def every_schema(conn: psycopg.Connection) -> dict[str, digests.TableDigest]:
        schemas = [row[0] for row in conn.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema' "
            "ORDER BY nspname")]
        return {f"{schema}.{table}": digest for schema in schemas
                for table, digest in digests.table_digests(conn, schema).items()}

    return _dump(Path(directory) / FULL_BACKUP_FOLDER, FULL_BACKUP_FOLDER, [], every_schema)


def _dump(folder: Path, name: str, scope: list[str], read_digests) -> Manifest:
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    dump = folder / f"{stamp}{DUMP_SUFFIX}"
    partial = dump.with_suffix(".partial")
    info = conninfo()
    with psycopg.connect(**info, autocommit=False) as conn:
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        snapshot = conn.execute("SELECT pg_export_snapshot()").fetchone()[0]
        tables = read_digests(conn)
        result = subprocess.run(["pg_dump", "--format=custom", *scope, f"--snapshot={snapshot}", "--no-owner",
                                 "--no-privileges", f"--file={partial}", *client_argv(info)],
                                env=client_env(info), capture_output=True, text=True)
        conn.rollback()
    if result.returncode != 0:
        partial.unlink(missing_ok=True)
        raise BackupError(f"pg_dump of {name} failed: {result.stderr.strip()}")
    partial.replace(dump)
    version = subprocess.run(["pg_dump", "--version"], capture_output=True, text=True).stdout.strip()
    manifest = Manifest(schema=name, created_at=stamp, dump_file=dump.name, size_bytes=dump.stat().st_size,
                        sha256=sha256_of(dump), tables={t: d.rows for t, d in tables.items()},
                        checksums={t: d.md5 for t, d in tables.items()}, pg_dump_version=version)
    write_manifest(manifest, dump.with_suffix(MANIFEST_SUFFIX))
    return manifest


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def prune(schema: str, directory: Path, keep: int) -> list[str]:
    """Delete all but the newest `keep` complete backups of `schema`; return what was deleted."""
    if keep < 1:
        raise BackupError("keep at least one backup")
    folder = Path(directory) / naming.validate_schema(schema)
    manifests = sorted(folder.glob(f"*{MANIFEST_SUFFIX}"), reverse=True)
    removed = []
    for manifest in manifests[keep:]:
        manifest.with_suffix(DUMP_SUFFIX).unlink(missing_ok=True)
        manifest.unlink()
        removed.append(manifest.stem)
    return removed


def verify_backup(directory: Path, manifest: Manifest) -> None:
    """The dump named by `manifest` is on disk, whole (size and checksum) and readable by pg_restore;
    raises BackupError otherwise. Comparing a restored schema's contents is `restore.verify_restored`."""
    dump = manifest.dump_path(directory)
    if not dump.exists():
        raise BackupError(f"backup {dump} is missing")
    if dump.stat().st_size != manifest.size_bytes or sha256_of(dump) != manifest.sha256:
        raise BackupError(f"backup {dump} does not match its manifest (size or sha256): it is damaged")
    listing = subprocess.run(["pg_restore", "--list", str(dump)], capture_output=True, text=True)
    if listing.returncode != 0:
        raise BackupError(f"pg_restore cannot read {dump}: {listing.stderr.strip()}")


def take_backup(schema: str, directory: Path, kind: str, keep: int = 0) -> tuple[BackupRun, Manifest]:
    """Back up, verify and prune one tenant schema, recording the run (also when it fails, then
    re-raising). Returns the finished run and the manifest."""
    run = BackupRun.objects.create(tenant=Tenant.objects.filter(schema_name=schema).first(), schema=schema,
                                   kind=kind, started_at=timezone.now())
    try:
        manifest = backup_schema(schema, directory)
        verify_backup(directory, manifest)
        if keep:
            prune(schema, directory, keep)
    except Exception as exc:
        run.succeeded, run.error, run.finished_at = False, str(exc), timezone.now()
        run.save(update_fields=["succeeded", "error", "finished_at"])
        raise
    run.succeeded, run.finished_at = True, timezone.now()
    run.path, run.sha256 = str(manifest.dump_path(directory)), manifest.sha256
    run.save(update_fields=["succeeded", "finished_at", "path", "sha256"])
    return run, manifest
