"""Clone a migrated template schema into a new tenant schema, in one transaction.

django-tenants' clone re-installs a ~4,600-line PL/pgSQL function on every call and then replays
every migration in fake mode, so it costs as much as migrating. This clone reads the template's
catalog once per call and issues plain DDL: tables (columns, defaults, identity), then every
constraint and index under its *original name* (later migrations drop constraints by name), then the
template's rows (migration bookkeeping, content types), then identity sequences, then foreign keys.
Its cost depends on the number of tables, not on the number of migrations.

The statement builders are pure; `read_catalog` is the only part that talks to PostgreSQL.
"""
from dataclasses import dataclass

from django.db import connection

from tenantry.tenancy.naming import quote_identifier as _q  # short: the DDL below is dense with it


@dataclass(frozen=True)
class Catalog:
    """What the clone needs to know about the template schema."""
    tables: list[str]
    # (table, constraint name, definition from pg_get_constraintdef, kind: p u c x f)
    constraints: list[tuple[str, str, str, str]]
    # CREATE INDEX statements of indexes that do not back a constraint
    indexes: list[str]
    # (table, column) of identity columns
    identities: list[tuple[str, str]]


def clone_statements(template: str, target: str, catalog: Catalog) -> list[str]:
    """The DDL and DML that turn an absent `target` into a copy of `template`."""
    src, dst = _q(template), _q(target)

    def retarget(sql: str) -> str:  # template objects named in index and foreign-key definitions
        return sql.replace(f"{src}.", f"{dst}.").replace(f"{template}.", f"{dst}.")

    statements = [f"CREATE SCHEMA {dst}"]
    for table in catalog.tables:
        statements.append(f"CREATE TABLE {dst}.{_q(table)} (LIKE {src}.{_q(table)} INCLUDING DEFAULTS "
                          "INCLUDING IDENTITY INCLUDING GENERATED INCLUDING STORAGE INCLUDING COMMENTS)")
    local = [c for c in catalog.constraints if c[3] != "f"]
    foreign = [c for c in catalog.constraints if c[3] == "f"]
    for table, name, definition, _ in sorted(local, key=lambda c: "puxc".index(c[3])):
        statements.append(f"ALTER TABLE {dst}.{_q(table)} ADD CONSTRAINT {_q(name)} {definition}")
    statements += [retarget(index) for index in catalog.indexes]
    for table in catalog.tables:
        statements.append(f"INSERT INTO {dst}.{_q(table)} SELECT * FROM {src}.{_q(table)}")
    for table, column in catalog.identities:
        qualified = f"{dst}.{_q(table)}"
        statements.append(f"SELECT setval(pg_get_serial_sequence('{qualified}', '{column}'), "
                          f"COALESCE(max({_q(column)}), 1), max({_q(column)}) IS NOT NULL) FROM {qualified}")
    for table, name, definition, _ in foreign:
        statements.append(f"ALTER TABLE {dst}.{_q(table)} ADD CONSTRAINT {_q(name)} {retarget(definition)}")
    return statements


def read_catalog(template: str) -> Catalog:
    """Read the template's tables, constraints, indexes and identity columns.

    Runs with search_path = public so that pg_get_*def qualify every template object with its
    schema (which clone_statements retargets) and leave public objects unqualified.
    """
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL search_path = public")
        cursor.execute("""
            SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = %s AND c.relkind IN ('r', 'p') ORDER BY c.relname""", [template])
        tables = [row[0] for row in cursor.fetchall()]
        cursor.execute("""
            SELECT t.relname, con.conname, pg_get_constraintdef(con.oid), con.contype
            FROM pg_constraint con
            JOIN pg_class t ON t.oid = con.conrelid JOIN pg_namespace n ON n.oid = t.relnamespace
            WHERE n.nspname = %s AND con.contype IN ('p', 'u', 'c', 'x', 'f')
            ORDER BY t.relname, con.conname""", [template])
        constraints = [tuple(row) for row in cursor.fetchall()]
        cursor.execute("""
            SELECT pg_get_indexdef(i.indexrelid)
            FROM pg_index i
            JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_namespace n ON n.oid = ic.relnamespace
            WHERE n.nspname = %s
              AND NOT EXISTS (SELECT 1 FROM pg_constraint con WHERE con.conindid = i.indexrelid)
            ORDER BY ic.relname""", [template])
        indexes = [row[0] for row in cursor.fetchall()]
        cursor.execute("""
            SELECT c.relname, a.attname FROM pg_attribute a
            JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = %s AND a.attidentity <> '' AND NOT a.attisdropped AND c.relkind = 'r'
            ORDER BY c.relname, a.attname""", [template])
        identities = [tuple(row) for row in cursor.fetchall()]
    return Catalog(tables=tables, constraints=constraints, indexes=indexes, identities=identities)


def clone_schema(template: str, target: str) -> None:
    """Clone inside the caller's transaction: a crash leaves no half-made schema behind."""
    catalog = read_catalog(template)
    with connection.cursor() as cursor:
        for statement in clone_statements(template, target, catalog):
            cursor.execute(statement)
