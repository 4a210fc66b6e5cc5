"""Provisioning's database part: a tenant schema cloned from the template against one migrated from
empty, in this process.

Django is configured like the operator (direct connection, `app_env(db, pooled=False)` before
`django.setup()`) and calls the same `ensure_schema` the operator calls. Clone and migrate are
interleaved pair by pair, alternating which goes first, so drift in machine load hits both paths
alike; one untimed warm-up pair pays for the imports, the migration loader and the first connection.
"""
import statistics
import time
from dataclasses import dataclass

from bench.runner import Run, close_django_connections
from bench.table import percentile
from bench.webstack import setup_django

SCHEMAS_PER_PATH = 10
LABEL = "3. provisioning:"  # the section 3, this module's figures and bench.provisioning's


@dataclass
class SchemaTimes:
    clone: list[float]
    migrate: list[float]


def measure_schemas(count: int, prefix: str) -> SchemaTimes:
    """ensure_schema() on `count` new schemas per path, interleaved (Django must be set up already)."""
    from django.db import connection

    from tenantry.tenancy.services import ensure_schema

    def timed(schema: str, expected: str) -> float:
        began = time.perf_counter()
        how = ensure_schema(schema)
        took = time.perf_counter() - began
        if how != expected:
            hint = " (is the template schema current?)" if expected == "cloned" else ""
            raise RuntimeError(f"ensure_schema({schema!r}) returned {how!r}, expected {expected!r}{hint}")
        return took

    def clone(schema: str) -> float:
        return timed(schema, "cloned")

    def migrate_one(schema: str) -> float:
        with connection.cursor() as cursor:  # an empty schema: ensure_schema must migrate it
            cursor.execute(f'CREATE SCHEMA "{schema}"')
        return timed(schema, "migrated")

    clone(f"{prefix}_c_warm")
    migrate_one(f"{prefix}_m_warm")
    times = SchemaTimes([], [])
    for i in range(count):
        pair = [(times.clone, clone, f"{prefix}_c{i:02d}"), (times.migrate, migrate_one, f"{prefix}_m{i:02d}")]
        for into, fn, schema in (pair if i % 2 == 0 else pair[::-1]):
            into.append(fn(schema))
    return times


def figure_schemas(run: Run, redis_url: str) -> None:
    """Also sets Django up in this process for the bench database and the bench's Redis, which the
    web figures use after it."""
    def measure() -> SchemaTimes:
        setup_django(run.db, redis_url)
        return measure_schemas(SCHEMAS_PER_PATH, f"t_bench_{run.hex}")

    try:
        times = run.attempt(f"{LABEL} schema: clone vs migrate", min(120, run.left()), measure)
    finally:
        close_django_connections()
    if times is None:
        return
    how = (f"in-process ensure_schema() on a direct connection to {run.db}; {SCHEMAS_PER_PATH} new schemas per "
           "path, interleaved pair by pair (alternating which goes first) after one untimed warm-up pair; "
           "clone = template current, no schema yet (returned 'cloned'); migrate = CREATE SCHEMA first (not "
           "timed), then every tenant migration (returned 'migrated'); perf_counter around the call only")
    clone_p50, clone_mean = percentile(times.clone, 50), statistics.fmean(times.clone)
    mig_p50, mig_mean = percentile(times.migrate, 50), statistics.fmean(times.migrate)
    run.add(f"{LABEL} schema clone, s/tenant", f"p50 {clone_p50:.3f}  mean {clone_mean:.3f}  "
            f"(min {min(times.clone):.3f}, max {max(times.clone):.3f}, n={len(times.clone)})", how)
    run.add(f"{LABEL} schema migrate, s/tenant", f"p50 {mig_p50:.3f}  mean {mig_mean:.3f}  "
            f"(min {min(times.migrate):.3f}, max {max(times.migrate):.3f}, n={len(times.migrate)})",
            "as the schema clone figure")
    run.add(f"{LABEL} migrate / clone", f"{mig_mean / clone_mean:.1f}x by mean, {mig_p50 / clone_p50:.1f}x "
            "by p50", "ratio of schema migrate to schema clone, same run, same database")
