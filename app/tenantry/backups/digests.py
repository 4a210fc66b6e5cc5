"""Row counts and content checksums of a schema's tables: what a manifest records and a restore must match.

A checksum is the md5 of every row's text (`t::text`) in primary-key order, so it changes with any
value of any row yet does not depend on where the rows live: a copy restored under another schema
name sums the same. Row text depends on session settings (time zone, date and float formats), so
both sides fix them first. The statements are built by pure functions; `table_digests` runs them.
Memory: PostgreSQL aggregates 32 hex characters per row, so a table must stay below about 30 million
rows (string_agg's 1 GB limit).
"""
from dataclasses import dataclass

import psycopg
from psycopg import sql

# Settings that change how values print as text; fixed for the transaction that checksums.
TEXT_SETTINGS = {"TimeZone": "UTC", "DateStyle": "ISO, YMD", "IntervalStyle": "postgres",
                 "extra_float_digits": "3", "bytea_output": "hex"}


@dataclass(frozen=True)
class TableDigest:
    rows: int
    md5: str


def settings_statements() -> list[sql.Composed]:
    return [sql.SQL("SET LOCAL {} = {}").format(sql.Identifier(name), sql.Literal(value))
            for name, value in TEXT_SETTINGS.items()]


def tables_query() -> sql.SQL:
    """(table, primary-key columns in key order) of every table in the schema given as parameter.
    Partitions are left out: their rows are counted through their parent."""
    return sql.SQL(
        "SELECT c.relname, array_remove(array_agg(a.attname::text ORDER BY array_position(i.indkey::int2[], a.attnum)),"
        " NULL) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary"
        " LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = ANY(i.indkey)"
        " WHERE n.nspname = %s AND c.relkind IN ('r', 'p') AND NOT c.relispartition"
        " GROUP BY c.relname ORDER BY c.relname")


def digest_query(schema: str, table: str, key: list[str]) -> sql.Composed:
    """Count and checksum one table; rows without a primary key are ordered by their own text."""
    order = (sql.SQL(", ").join(sql.SQL("t.{}").format(sql.Identifier(column)) for column in key) if key
             else sql.SQL("t::text"))
    return sql.SQL("SELECT count(*), md5(coalesce(string_agg(md5(t::text), '' ORDER BY {order}), ''))"
                   " FROM {schema}.{table} AS t").format(order=order, schema=sql.Identifier(schema),
                                                         table=sql.Identifier(table))


def table_digests(conn: psycopg.Connection, schema: str) -> dict[str, TableDigest]:
    """Digests of every table of `schema`, read in the connection's current transaction (the caller
    chooses the snapshot)."""
    for statement in settings_statements():
        conn.execute(statement)
    tables = conn.execute(tables_query(), [schema]).fetchall()
    digests = {}
    for table, key in tables:
        rows, md5 = conn.execute(digest_query(schema, table, key)).fetchone()
        digests[table] = TableDigest(rows=rows, md5=md5)
    return digests


def differences(expected: dict[str, TableDigest], actual: dict[str, TableDigest]) -> list[str]:
    """What differs, one line per table, for an error message; empty when identical."""
    lines = []
    for table in sorted(expected.keys() | actual.keys()):
        want, got = expected.get(table), actual.get(table)
        if want is None:
            lines.append(f"{table}: not in the backup")
        elif got is None:
            lines.append(f"{table}: missing")
        elif want.rows != got.rows:
            lines.append(f"{table}: {got.rows} rows, the backup has {want.rows}")
        elif want.md5 != got.md5:
            lines.append(f"{table}: same {got.rows} rows but different content (checksum)")
    return lines
