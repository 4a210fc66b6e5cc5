"""Deleting a Tenant by its deletionPolicy, behind the operator's finalizer.

Retain (the default) stops serving the tenant and keeps its schema and rows. Delete first takes a
final backup and verifies it, and only then drops the schema: if the backup fails, the finalizer
stays, Kopf retries, and nothing is dropped.
"""
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.db import close_old_connections

from tenantry.backups.manifests import Manifest
from tenantry.backups.models import BackupRun
from tenantry.backups.services import take_backup
from tenantry.tenancy.services import release_tenant, schema_exists
from tenantry_operator.config import OperatorConfig


@dataclass(frozen=True)
class Services:
    """The database side of a deletion. Injected, so unit tests can prove the order that keeps data
    safe (backup, then drop) without a database."""
    schema_exists: Callable[[str], bool] = schema_exists
    take_backup: Callable[[str, Path, str], tuple[BackupRun, Manifest]] = take_backup
    release_tenant: Callable[..., None] = release_tenant


def delete_tenant(namespace: str, name: str, spec: dict, status: dict, config: OperatorConfig,
                  services: Services = Services()) -> str:
    """Returns what was done, for the Tenant's event."""
    close_old_connections()
    schema = status.get("schema")
    drop = spec.get("deletionPolicy") == "Delete"
    message = "routing removed; schema and rows retained"
    if drop:
        message = "routing removed; no schema to back up"
        if schema and services.schema_exists(schema):
            _, manifest = services.take_backup(schema, Path(config.backup_dir), BackupRun.Kind.FINAL)
            message = (f"final backup {schema}/{manifest.dump_file} ({manifest.size_bytes} bytes, sha256 "
                       f"{manifest.sha256[:12]}) verified; schema dropped")
    services.release_tenant(f"{namespace}/{name}", drop_schema=drop)
    return message
