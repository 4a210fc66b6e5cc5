"""A cloned tenant schema is the same as a migrated one, object for object and name for name."""
import uuid

import pytest
from django.db import connection

from tenantry.tenancy.services import ensure_schema, pending_migrations
from testkit.net import direct

pytestmark = pytest.mark.integration

CATALOG_QUERIES = {
    "columns": """SELECT table_name, column_name, data_type, is_nullable, column_default IS NOT NULL, is_identity
                  FROM information_schema.columns WHERE table_schema = %(s)s""",
    "constraints": """SELECT t.relname, con.conname, con.contype,
                             regexp_replace(pg_get_constraintdef(con.oid), %(s)s || '\\.', '', 'g')
                      FROM pg_constraint con JOIN pg_class t ON t.oid = con.conrelid
                      JOIN pg_namespace n ON n.oid = t.relnamespace WHERE n.nspname = %(s)s""",
    "indexes": """SELECT indexname, regexp_replace(indexdef, %(s)s || '\\.', '', 'g')
                  FROM pg_indexes WHERE schemaname = %(s)s""",
    "migrations": "SELECT app, name FROM {s}.django_migrations",
}


def catalog(database: str, schema: str) -> dict[str, set]:
    with direct(database) as conn:
        conn.execute("SET search_path = public")
        return {name: set(conn.execute(sql.replace("{s}", f'"{schema}"'), {"s": schema}).fetchall())
                for name, sql in CATALOG_QUERIES.items()}


def test_clone_equals_migrate(database):
    cloned, migrated = (f"t_c{uuid.uuid4().hex[:8]}" for _ in range(2))
    assert ensure_schema(cloned) == "cloned"

    # The fallback path: the same schema built by running every migration.
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE SCHEMA "{migrated}"')
    assert ensure_schema(migrated) == "migrated"

    a, b = catalog(database, cloned), catalog(database, migrated)
    for part in CATALOG_QUERIES:
        assert a[part] == b[part], part
    assert any(kind == "f" for _, _, kind, _ in a["constraints"])  # foreign keys came along
    assert not pending_migrations(cloned)


def test_provisioning_an_existing_schema_is_a_no_op(database):
    schema = f"t_c{uuid.uuid4().hex[:8]}"
    ensure_schema(schema)
    assert ensure_schema(schema) == "current"


def test_a_cloned_schema_keeps_working_identity_sequences(database):
    from django_tenants.utils import schema_context

    from tenantry.accounts.models import User
    from tenantry.projects.models import Project

    schema = f"t_c{uuid.uuid4().hex[:8]}"
    ensure_schema(schema)
    owner = User.objects.create_user(f"{uuid.uuid4().hex[:8]}@example.com")
    with schema_context(schema):
        first = Project.objects.create(name="a", owner=owner)
        second = Project.objects.create(name="b", owner=owner)
    assert second.pk == first.pk + 1
