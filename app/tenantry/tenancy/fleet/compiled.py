"""A migration plan as plain SQL, made once and replayed in every schema that starts where it starts.

Django's schema editor writes the SQL of a migration against one schema (in collect_sql mode, as
`sqlmigrate` does), with unqualified names that the search_path resolves: the same statements are
right for every schema at the same starting version, because tenant schemas are clones keeping every
constraint and index name. What cannot be replayed as SQL (a RunPython that runs in tenant schemas, a
non-atomic migration) is left to Django's own `migrate` for each schema.
"""
from dataclasses import dataclass

from django.db import connection, router
from django.db.migrations.state import ProjectState

from tenantry.tenancy.fleet.target import Target


@dataclass(frozen=True)
class CompiledPlan:
    migrations: tuple[tuple[str, str], ...]  # (app, name) in the order they are applied
    statements: tuple[str, ...]
    replayable: bool = True  # False: Django migrates each schema (`why` says what prevents SQL)
    why: str = ""


def not_replayable(migration) -> str:
    """Why a migration cannot be replayed as SQL in a tenant schema ("" when it can). Call with the
    connection set to a tenant schema: the router decides what runs there."""
    runs_here = [op for op in migration.operations
                 if router.allow_migrate(connection.alias, migration.app_label, **getattr(op, "hints", {}))]
    if not runs_here:
        return ""
    if not migration.atomic:
        return f"{migration.app_label}.{migration.name} is not atomic"
    opaque = [op.describe() for op in runs_here if not op.reduces_to_sql]
    return f"{migration.app_label}.{migration.name} runs Python: {'; '.join(opaque)}" if opaque else ""


def compile_plan(target: Target, applied: frozenset[str], reference_schema: str) -> CompiledPlan:
    """The SQL that brings a schema recording `applied` to the target, written against
    `reference_schema` (one schema at that version: the schema editor introspects it for constraint
    names). The connection must be direct: the schema is selected for the session."""
    plan = target.plan(applied)
    migrations = tuple(plan)
    connection.set_schema(reference_schema)
    try:
        for node in plan:
            why = not_replayable(target.graph.nodes[node])
            if why:
                return CompiledPlan(migrations, (), replayable=False, why=why)
        state = ProjectState(real_apps=set(target.unmigrated_apps))
        for node in target.ordered():
            if f"{node[0]}.{node[1]}" in applied:
                target.graph.nodes[node].mutate_state(state, preserve=False)
        statements: list[str] = []
        for node in plan:
            migration = target.graph.nodes[node]
            with connection.schema_editor(collect_sql=True, atomic=migration.atomic) as editor:
                state = migration.apply(state, editor, collect_sql=True)
            statements += [sql for sql in editor.collected_sql if not sql.startswith("--")]
        return CompiledPlan(migrations, tuple(statements))
    finally:
        connection.set_schema_to_public()
