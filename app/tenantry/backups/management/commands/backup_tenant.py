from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from tenantry.backups.models import BackupRun
from tenantry.backups.services import BackupError, take_backup
from tenantry.tenancy.naming import InvalidName


class Command(BaseCommand):
    help = ("pg_dump one tenant schema with a manifest (sha256, size, row counts and checksums), verify it, "
            "prune old backups, and record the run.")

    def add_arguments(self, parser):
        parser.add_argument("--schema", required=True)
        parser.add_argument("--dir", required=True, type=Path, help="backup root; files go to <dir>/<schema>/")
        parser.add_argument("--keep", type=int, default=0, help="keep only the newest N backups (0: keep all)")
        parser.add_argument("--kind", choices=BackupRun.Kind.values, default=BackupRun.Kind.SCHEDULED,
                            help="recorded with the run (the CronJob's runs are scheduled)")

    def handle(self, *args, schema, dir, keep, kind, **options):
        try:
            run, manifest = take_backup(schema, dir, kind, keep)
        except (BackupError, InvalidName) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"{schema}: {run.path} {manifest.size_bytes} bytes sha256={manifest.sha256} "
                          f"rows={sum(manifest.tables.values())}")
