"""The ledger: every write a client saw acknowledged (2xx), checked against what the database holds.

A write that was stored but never acknowledged (its response was lost with a killed worker) is fine;
an acknowledged one that is missing, or any name stored twice, is a failure.
"""
import threading
from collections import Counter
from dataclasses import dataclass

import psycopg
from psycopg import sql


@dataclass(frozen=True)
class LedgerCheck:
    acknowledged: int
    lost: frozenset[tuple[str, str]]  # (schema, name)
    duplicated: frozenset[tuple[str, str]]


class Ledger:
    """Thread-safe record of acknowledged writes, keyed by the tenant schema they went to."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._names: dict[str, set[str]] = {}

    def acknowledge(self, schema: str, name: str) -> None:
        with self._lock:
            self._names.setdefault(schema, set()).add(name)

    def snapshot(self) -> dict[str, frozenset[str]]:
        with self._lock:
            return {schema: frozenset(names) for schema, names in self._names.items()}


def check(acknowledged: dict[str, frozenset[str]], stored: dict[str, Counter]) -> LedgerCheck:
    lost = {(schema, name) for schema, names in acknowledged.items() for name in names
            if stored.get(schema, Counter())[name] == 0}
    duplicated = {(schema, name) for schema, counts in stored.items() for name, n in counts.items() if n > 1}
    return LedgerCheck(sum(map(len, acknowledged.values())), frozenset(lost), frozenset(duplicated))


def count_query(schema: str) -> sql.Composed:
    return sql.SQL("SELECT name, count(*) FROM {}.projects_project WHERE name LIKE %s GROUP BY name").format(
        sql.Identifier(schema))


def stored_writes(database_url: str, schemas: list[str], prefix: str) -> dict[str, Counter]:
    """How often each project name starting with `prefix` is stored, per schema (a direct connection)."""
    stored = {}
    with psycopg.connect(database_url, autocommit=True) as conn:
        for schema in schemas:
            rows = conn.execute(count_query(schema), [prefix.replace("_", r"\_") + "%"]).fetchall()
            stored[schema] = Counter(dict(rows))
    return stored
