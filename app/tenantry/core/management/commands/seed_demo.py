from django.core.management.base import BaseCommand, CommandError

from tenantry.core.demo import seed_member, seed_tenant


class Command(BaseCommand):
    help = "Give tenants a demo owner with a known password and demo projects (idempotent; local use)."

    def add_arguments(self, parser):
        parser.add_argument("--owner", action="append", required=True, metavar="HOST=EMAIL",
                            help="a domain of the tenant and its demo owner: acme.localhost=owner@acme.example.com")
        parser.add_argument("--member", action="append", default=[], metavar="HOST=EMAIL",
                            help="a member who only reads (the demo analyst): acme.localhost=analyst@acme.example.com")
        parser.add_argument("--password", required=True)

    def handle(self, *args, owner, member, password, **options):
        for pair in owner:
            host, email = self._pair("--owner", pair)
            created = seed_tenant(host, email, password)
            self.stdout.write(f"{host}: owner {email}; {created} demo projects created")
        for pair in member:
            host, email = self._pair("--member", pair)
            seed_member(host, email, password)
            self.stdout.write(f"{host}: member {email}")

    @staticmethod
    def _pair(option: str, pair: str) -> tuple[str, str]:
        host, _, email = pair.partition("=")
        if not host or not email:
            raise CommandError(f"{option} {pair!r}: give HOST=EMAIL")
        return host, email
