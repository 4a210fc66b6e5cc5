from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from tenantry.backups.services import BackupError, backup_schema, prune
from tenantry.tenancy.naming import InvalidName


class Command(BaseCommand):
    help = "pg_dump one tenant schema with a manifest (checksum, size, row counts); prune old backups."

    def add_arguments(self, parser):
        parser.add_argument("--schema", required=True)
        parser.add_argument("--dir", required=True, type=Path, help="backup root; files go to <dir>/<schema>/")
        parser.add_argument("--keep", type=int, default=0, help="keep only the newest N backups (0: keep all)")

    def handle(self, *args, schema, dir, keep, **options):
        try:
            manifest = backup_schema(schema, dir)
            removed = prune(schema, dir, keep) if keep else []
        except (BackupError, InvalidName) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"{schema}: {manifest.dump_file} {manifest.size_bytes} bytes sha256={manifest.sha256} "
                          f"rows={sum(manifest.tables.values())}; pruned {len(removed)}")
