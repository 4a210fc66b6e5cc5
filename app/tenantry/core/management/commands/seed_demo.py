from django.core.management.base import BaseCommand

from tenantry.core.demo import seed_tenant


class Command(BaseCommand):
    help = "Give a tenant a demo owner with a known password and demo projects (idempotent; local use)."

    def add_arguments(self, parser):
        parser.add_argument("--host", required=True, help="a domain of the tenant, e.g. acme.localhost")
        parser.add_argument("--email", required=True)
        parser.add_argument("--password", required=True)

    def handle(self, *args, host, email, password, **options):
        created = seed_tenant(host, email, password)
        self.stdout.write(f"{host}: owner {email}; {created} demo projects created")
