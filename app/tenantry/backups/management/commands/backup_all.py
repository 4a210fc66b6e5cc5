from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from tenantry.backups.services import BackupError, backup_all, verify_backup


class Command(BaseCommand):
    help = ("pg_dump of the whole database (every schema) to <dir>/_all/, with a manifest of every table's "
            "row count and checksum; docs/backups.md says how to restore it (as the app's role, without the "
            "extension entries).")

    def add_arguments(self, parser):
        parser.add_argument("--dir", required=True, type=Path, help="backup root")

    def handle(self, *args, dir, **options):
        try:
            manifest = backup_all(dir)
            verify_backup(dir, manifest)
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        schemas = {table.split(".", 1)[0] for table in manifest.tables}
        self.stdout.write(f"{manifest.dump_path(dir)} {manifest.size_bytes} bytes sha256={manifest.sha256} "
                          f"schemas={len(schemas)} tables={len(manifest.tables)}")
