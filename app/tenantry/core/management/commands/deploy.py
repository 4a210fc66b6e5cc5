from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = ("What every deploy runs, in order: migrate the public schema, then the template schema new "
            "tenants are cloned from, then every tenant schema (a fleet rollout: canaries first, then "
            "batches). One process, so the local platform and a migration Job pay Django's start-up once.")

    def handle(self, *args, **options):
        verbosity = options["verbosity"]
        call_command("migrate_schemas", shared=True, interactive=False, verbosity=verbosity)
        call_command("migrate_template", verbosity=verbosity)
        call_command("migrate_tenants", verbosity=verbosity)
