"""The tenant search_path behind a real PgBouncer in transaction mode: scoped, never leaked."""
import threading
import uuid

import pytest
from django.db import connections, transaction

from localplatform import config
from tenantry.accounts.models import User
from tenantry.db.base import TenantOutsideTransaction
from tenantry.projects.models import Project
from tenantry.tenancy.services import TenantSpec, provision_tenant

pytestmark = pytest.mark.integration
ALIAS = "pooled"


@pytest.fixture(scope="module")
def pooled(database):
    """A Django connection alias through PgBouncer, configured exactly like the web pods'."""
    connections.settings[ALIAS] = {**connections.settings["default"], "PORT": config.PORTS["pgbouncer"],
                                   "POOLED": True}
    yield ALIAS
    connections.close_all()
    del connections.settings[ALIAS]


@pytest.fixture(scope="module")
def two_tenants(database):
    names = ["q" + uuid.uuid4().hex[:8] for _ in range(2)]
    for name in names:
        provision_tenant(TenantSpec(resource=f"ns/{name}", schema=f"t_{name}", display_name=name,
                                    domains=(f"{name}.test.localhost",)))
    return [f"t_{name}" for name in names]


def test_a_tenant_query_outside_a_transaction_is_refused(pooled, two_tenants):
    conn = connections[pooled]
    conn.set_schema(two_tenants[0])
    try:
        with pytest.raises(TenantOutsideTransaction, match="outside a transaction"):
            Project.objects.using(pooled).count()
    finally:
        conn.set_schema_to_public()


def test_each_transaction_sees_its_own_tenant_and_nothing_leaks_under_concurrency(pooled, two_tenants):
    """Threads alternate tenants through one small PgBouncer pool; every transaction must see its
    own tenant's rows, and every autocommit query afterwards the plain public search_path."""
    owner = User.objects.create_user(f"{uuid.uuid4().hex[:8]}@example.com")
    for schema in two_tenants:
        conn = connections[pooled]
        conn.set_schema(schema)
        with transaction.atomic(using=pooled):
            Project.objects.using(pooled).create(name=schema, owner_id=owner.pk)
        conn.set_schema_to_public()

    errors: list[str] = []

    def worker(offset: int) -> None:
        conn = connections[pooled]
        try:
            for i in range(40):
                schema = two_tenants[(i + offset) % 2]
                conn.set_schema(schema)
                with transaction.atomic(using=pooled):
                    seen = list(Project.objects.using(pooled).values_list("name", flat=True))
                    with conn.cursor() as cursor:
                        cursor.execute("SELECT current_schema()")
                        current = cursor.fetchone()[0]
                if seen != [schema] or current != schema:
                    errors.append(f"wanted {schema}, saw rows {seen} in schema {current}")
                conn.set_schema_to_public()
                with conn.cursor() as cursor:
                    cursor.execute("SHOW search_path")
                    path = cursor.fetchone()[0]
                if path != "public":
                    errors.append(f"search_path {path!r} leaked into an autocommit query")
        finally:
            conn.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
