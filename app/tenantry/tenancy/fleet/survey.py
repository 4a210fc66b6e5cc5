"""Where every tenant schema stands against the deployed migrations, in a handful of queries.

One query lists the tenants (with their canary flag and last migration failure) and whether each
schema has a migration table at all; then one UNION ALL query per `BATCH` schemas counts the target's
migrations each has recorded and digests them into a version (see `target`). A thousand current
schemas cost six queries, not a thousand `migrate` runs.
"""
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db import connection

from tenantry.tenancy.fleet.target import Target, version_of
from tenantry.tenancy.naming import quote_identifier

BATCH = 200  # schemas per UNION ALL query: big enough to be few, small enough to plan quickly


@dataclass(frozen=True)
class SchemaState:
    schema: str
    resource: str  # "<namespace>/<name>" of the Tenant
    canary: bool
    applied: int  # how many of the target's migrations the schema has recorded
    pending: int
    version: str  # digest of the target's migrations it has recorded
    latest: str  # the migration it recorded last ("" when none)
    failure: str = ""  # the last rollout's error for this schema, until it migrates
    failed_at: datetime | None = None
    failed_version: str = ""  # the target version the failure happened at


def tenants_sql(namespace: str | None) -> tuple[str, list]:
    """Served tenants (active or suspended), each with whether its migration table exists."""
    sql = """
        SELECT schema_name, resource, migration_canary, migration_error, migration_failed_at,
               migration_failed_version,
               to_regclass(format('%%I.django_migrations', schema_name)) IS NOT NULL
        FROM public.tenancy_tenant WHERE state IN ('active', 'suspended')"""
    params: list = []
    if namespace:
        sql += " AND resource LIKE %s"
        params.append(namespace.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "/%")
    return sql + " ORDER BY schema_name", params


def recorded_sql(schemas: list[str]) -> str:
    """Per schema: (schema, count, version digest, latest) of the target's recorded migrations. The
    target's names are the query's one parameter; the digest sorts bytewise, like Python's sorted()."""
    parts = [
        f"""SELECT %(s{i})s, count(*),
               md5(coalesce(string_agg(m.app || '.' || m.name, E'\\n'
                                       ORDER BY m.app || '.' || m.name COLLATE "C"), '')),
               coalesce((array_agg(m.app || '.' || m.name ORDER BY m.applied DESC, m.id DESC))[1], '')
            FROM {quote_identifier(schema)}.django_migrations m
            WHERE m.app || '.' || m.name = ANY(%(names)s)"""
        for i, schema in enumerate(schemas)]
    return "\nUNION ALL\n".join(parts)


def survey(target: Target, namespace: str | None = None) -> list[SchemaState]:
    """The state of every served tenant schema (of `namespace`'s Tenants, if given)."""
    with connection.cursor() as cursor:
        cursor.execute(*tenants_sql(namespace))
        tenants = cursor.fetchall()
        recorded: dict[str, tuple[int, str, str]] = {}
        with_table = [row[0] for row in tenants if row[6]]
        names = sorted(target.names)
        for start in range(0, len(with_table), BATCH):
            chunk = with_table[start:start + BATCH]
            params = {"names": names, **{f"s{i}": schema for i, schema in enumerate(chunk)}}
            cursor.execute(recorded_sql(chunk), params)
            for schema, count, digest, latest in cursor.fetchall():
                recorded[schema] = (count, digest[:12], latest)
    empty = (0, version_of(()), "")
    states = []
    for schema, resource, canary, error, failed_at, failed_version, _ in tenants:
        count, version, latest = recorded.get(schema, empty)
        states.append(SchemaState(schema=schema, resource=resource, canary=canary, applied=count,
                                  pending=len(target.names) - count, version=version, latest=latest,
                                  failure=error, failed_at=failed_at, failed_version=failed_version))
    return states


def summary(states: Iterable[SchemaState], target: Target) -> dict:
    """The fleet in numbers: tenants current, behind and failed, and how many at each version."""
    counts = {"current": 0, "behind": 0, "failed": 0}
    versions: dict[str, int] = {}
    for state in states:
        versions[state.version] = versions.get(state.version, 0) + 1
        counts["current" if not state.pending else "failed" if state.failure else "behind"] += 1
    return {"target": target.version, **counts, "versions": versions}
