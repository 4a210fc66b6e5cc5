from django.core.management.base import BaseCommand

from tenantry.tenancy.services import ensure_template


class Command(BaseCommand):
    help = ("Create or migrate the template schema that new tenant schemas are cloned from. "
            "Run after migrate_schemas --shared at every deploy.")

    def handle(self, *args, **options):
        self.stdout.write(f"template schema: {ensure_template()}")
