"""Per-tenant logical backups: a pg_dump of one schema plus a manifest that can prove a restore.

The row counts in the manifest are taken in the *same snapshot* pg_dump reads (an exported snapshot
held open for the length of the dump), so a later verification can compare them exactly even while
the tenant keeps writing. Files are written under a temporary name and renamed, so a crash never
leaves a dump that looks complete.
"""
import hashlib
import json
import os
import subprocess
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from django.db import connection
from psycopg import sql

from tenantry.tenancy import naming

DUMP_SUFFIX, MANIFEST_SUFFIX = ".dump", ".json"


class BackupError(RuntimeError):
    pass


@dataclass(frozen=True)
class Manifest:
    schema: str
    created_at: str
    dump_file: str
    size_bytes: int
    sha256: str
    tables: dict[str, int]
    format: str = "pg_dump custom"
    pg_dump_version: str = ""


def _conninfo() -> dict:
    s = connection.settings_dict
    if s.get("POOLED"):
        raise BackupError("backups need a direct PostgreSQL connection (TENANTRY_DB_POOLED=0): a "
                          "transaction pooler cannot hold the exported snapshot pg_dump reads")
    return {"host": s["HOST"], "port": str(s["PORT"]), "user": s["USER"], "password": s["PASSWORD"],
            "dbname": s["NAME"]}


def backup_schema(schema: str, directory: Path) -> Manifest:
    naming.validate_schema(schema)
    target = Path(directory) / schema
    target.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    dump = target / f"{stamp}{DUMP_SUFFIX}"
    partial = dump.with_suffix(".partial")
    info = _conninfo()
    with psycopg.connect(**info, autocommit=False) as conn:
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        snapshot = conn.execute("SELECT pg_export_snapshot()").fetchone()[0]
        tables = _row_counts(conn, schema)
        env = {**os.environ, "PGPASSWORD": info["password"]}
        result = subprocess.run(["pg_dump", "--format=custom", f"--schema={schema}", f"--snapshot={snapshot}",
                                 "--no-owner", "--no-privileges", f"--file={partial}", "-h", info["host"],
                                 "-p", info["port"], "-U", info["user"], info["dbname"]],
                                env=env, capture_output=True, text=True)
        conn.rollback()
    if result.returncode != 0:
        partial.unlink(missing_ok=True)
        raise BackupError(f"pg_dump of schema {schema} failed: {result.stderr.strip()}")
    partial.replace(dump)
    version = subprocess.run(["pg_dump", "--version"], capture_output=True, text=True).stdout.strip()
    manifest = Manifest(schema=schema, created_at=stamp, dump_file=dump.name, size_bytes=dump.stat().st_size,
                        sha256=_sha256(dump), tables=tables, pg_dump_version=version)
    manifest_path = dump.with_suffix(MANIFEST_SUFFIX)
    manifest_path.with_suffix(".tmp").write_text(json.dumps(asdict(manifest), indent=2, sort_keys=True))
    manifest_path.with_suffix(".tmp").replace(manifest_path)
    return manifest


def _row_counts(conn: psycopg.Connection, schema: str) -> dict[str, int]:
    tables = [row[0] for row in conn.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relkind IN ('r', 'p') ORDER BY c.relname", [schema])]
    return {table: conn.execute(sql.SQL("SELECT count(*) FROM {}.{}").format(
        sql.Identifier(schema), sql.Identifier(table))).fetchone()[0] for table in tables}


def _sha256(path: Path) -> str:
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
    raises BackupError otherwise. Restoring and comparing row counts is the restore drill's job."""
    dump = Path(directory) / manifest.schema / manifest.dump_file
    if not dump.exists():
        raise BackupError(f"backup {dump} is missing")
    if dump.stat().st_size != manifest.size_bytes or _sha256(dump) != manifest.sha256:
        raise BackupError(f"backup {dump} does not match its manifest (size or checksum)")
    listing = subprocess.run(["pg_restore", "--list", str(dump)], capture_output=True, text=True)
    if listing.returncode != 0:
        raise BackupError(f"pg_restore cannot read {dump}: {listing.stderr.strip()}")
