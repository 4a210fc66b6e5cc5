from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from tenantry.backups.manifests import BackupError, newest_manifest
from tenantry.backups.restore import restore_as_new_tenant, restore_schema
from tenantry.tenancy.naming import InvalidName
from tenantry.tenancy.services import TenantSpec


class Command(BaseCommand):
    help = ("Restore a tenant backup and verify it (row counts and checksums against the manifest): into the "
            "schema it came from (after a loss), or with --new-tenant into a new tenant, a copy for investigation.")

    def add_arguments(self, parser):
        source = parser.add_mutually_exclusive_group(required=True)
        source.add_argument("--manifest", type=Path, help="a backup's .json manifest (or its .dump)")
        source.add_argument("--latest", metavar="SCHEMA", help="the newest backup of SCHEMA under --dir")
        parser.add_argument("--dir", type=Path, help="backup root, with --latest")
        parser.add_argument("--force", action="store_true",
                            help="replace the schema even if it holds tables (its current contents are lost)")
        new = parser.add_argument_group("restore into a new tenant")
        new.add_argument("--new-tenant", metavar="NAMESPACE/NAME",
                         help="register the copy as this tenant; a Tenant object of that name may adopt it later")
        new.add_argument("--schema", help="the copy's schema (required with --new-tenant)")
        new.add_argument("--domain", action="append", default=[], help="the copy's host name (repeatable)")
        new.add_argument("--display-name")
        new.add_argument("--owner-email", help="the copy's first owner (nobody else has access)")

    def handle(self, *args, manifest, latest, dir, force, new_tenant, schema, domain, display_name, owner_email,
               **options):
        try:
            if latest and not dir:
                raise CommandError("--latest needs --dir")
            path = manifest or newest_manifest(dir, latest)
            if new_tenant:
                if not (schema and domain):
                    raise CommandError("--new-tenant needs --schema and at least one --domain")
                tenant = restore_as_new_tenant(path, TenantSpec(
                    resource=new_tenant, schema=schema, display_name=display_name or new_tenant,
                    domains=tuple(domain), plan=None, owner_email=owner_email))
                self.stdout.write(f"restored {path} as tenant {tenant.resource} (schema {tenant.schema_name}, "
                                  f"{', '.join(domain)}); verified")
                return
            restored = restore_schema(path, schema, force=force)
            self.stdout.write(f"restored {path} into {schema or restored.schema}; verified "
                              f"{len(restored.tables)} tables, {sum(restored.tables.values())} rows")
        except (BackupError, InvalidName) as exc:
            raise CommandError(str(exc)) from exc
