"""The fleet section's scratch databases: `<bench db>_fleet` and `<bench db>_stock`, migrated the way
a deploy migrates them (public, template, tenants), then filled the same way, in one process per
database with Django set up for it: `clone_schema` of the template in a loop, then the Tenant rows
in one bulk insert. So Tenantry's and stock django-tenants' runs start from identical schemas.

Run as its own process by `create` (Django is set up once per database, not in the benchmark's
process): `python -m bench.fleet_databases COUNT FIRST`.
"""
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass

from bench.runner import Run, create_database, drop_database, forget_cache_keys
from localplatform import config
from localplatform.components import app_env

NAMESPACES = ("fleet-a", "fleet-b")  # the first `first` tenants, then the rest


def schema_names(count: int) -> list[str]:
    return [f"t_fleet_{number:04d}" for number in range(count)]


def populate(count: int, first: int) -> None:
    """In a process whose Django is set up for the scratch database: `count` tenant schemas cloned
    from the template and their Tenant rows, the first `first` in NAMESPACES[0], the rest in [1]."""
    import django

    django.setup()
    from django.conf import settings
    from django.db import transaction

    from tenantry.tenancy.clone import clone_schema
    from tenantry.tenancy.models import Tenant

    began = time.monotonic()
    schemas = schema_names(count)
    for schema in schemas:
        with transaction.atomic():
            clone_schema(settings.TENANTRY_TEMPLATE_SCHEMA, schema)
    cloned = time.monotonic()
    Tenant.objects.bulk_create(
        [Tenant(schema_name=schema, resource=f"{NAMESPACES[i >= first]}/{schema.replace('_', '-')[2:]}",
                display_name=f"Fleet {schema}", state=Tenant.State.ACTIVE, plan="free", backups_enabled=True)
         for i, schema in enumerate(schemas)], batch_size=500)
    print(f"populated {count} {cloned - began:.2f} {time.monotonic() - cloned:.2f}", flush=True)


@dataclass
class Databases:
    fleet: str
    stock: str

    @classmethod
    def of(cls, bench_db: str) -> "Databases":
        return cls(f"{bench_db}_fleet", f"{bench_db}_stock")

    def all(self) -> tuple[str, str]:
        return self.fleet, self.stock


def create(db: str, count: int, first: int) -> tuple[float, float, float]:
    """A migrated scratch database holding `count` tenants; (deploy, clone, rows) seconds."""
    deployed = create_database(db)
    done = subprocess.run([sys.executable, "-m", "bench.fleet_databases", str(count), str(first)],
                          cwd=config.ROOT, env={**os.environ, **app_env(db, pooled=False)}, capture_output=True,
                          text=True, timeout=300)
    found = re.search(r"populated (\d+) ([\d.]+) ([\d.]+)", done.stdout)
    if done.returncode != 0 or not found or int(found[1]) != count:
        raise RuntimeError(f"populating {db} failed ({done.returncode}):\n{(done.stdout + done.stderr)[-2000:]}")
    return deployed, float(found[2]), float(found[3])


def drop(run: Run, databases: Databases) -> None:
    """Both scratch databases and their cache keys, each step on its own (safe to call twice)."""
    for db in databases.all():
        run.cleanup_step(f"dropping {db}", 30, lambda db=db: drop_database(db))
    run.cleanup_step("cache keys of the fleet databases", 10, lambda: forget_cache_keys(*databases.all()))


if __name__ == "__main__":
    populate(int(sys.argv[1]), int(sys.argv[2]))
