"""The pure rules of fleet migrations: who migrates when, versions, and what a Tenant shows."""
from datetime import UTC, datetime, timedelta

from django.db.migrations.graph import MigrationGraph

from tenantry.tenancy.fleet import survey
from tenantry.tenancy.fleet.rollout import plan
from tenantry.tenancy.fleet.survey import SchemaState
from tenantry.tenancy.fleet.target import Target, version_of
from tenantry_operator.migration_status import condition, condition_outdated, fleet_summary, migrations_status

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def graph(*edges: tuple[str, str]) -> Target:
    g = MigrationGraph()
    nodes = {n for edge in edges for n in edge}
    for node in sorted(nodes):
        g.add_node(tuple(node.split(".")), None)
    for child, parent in edges:
        g.add_dependency(None, tuple(child.split(".")), tuple(parent.split(".")))
    return Target(graph=g, names=frozenset(nodes), version=version_of(nodes))


TARGET = graph(("a.0002", "a.0001"), ("b.0001", "a.0001"), ("b.0002", "b.0001"))


def state(schema: str, pending: int = 1, canary: bool = False, failure: str = "", failed_ago: float | None = None,
          failed_version: str = TARGET.version) -> SchemaState:
    return SchemaState(schema=schema, resource=f"ns/{schema}", canary=canary, applied=4 - pending, pending=pending,
                       version="old" if pending else TARGET.version, latest="a.0001", failure=failure,
                       failed_at=NOW - timedelta(seconds=failed_ago) if failed_ago is not None else None,
                       failed_version=failed_version if failure else "")


def test_the_plan_puts_canaries_first_and_leaves_current_schemas_alone():
    chosen = plan([state("a"), state("b", pending=0), state("c", canary=True)], TARGET, NOW)
    assert [s.schema for s in chosen.canaries] == ["c"]
    assert [s.schema for s in chosen.rest] == ["a"]
    assert not chosen.held


def test_a_recently_failed_canary_holds_everyone_until_its_retry_is_due():
    failed = state("c", canary=True, failure="boom", failed_ago=10)
    held = plan([failed, state("a")], TARGET, NOW, retry_after=300)
    assert (held.canaries, held.rest) == ([], [])
    assert held.held == "canary c failed: boom"
    due = plan([state("c", canary=True, failure="boom", failed_ago=301), state("a")], TARGET, NOW, retry_after=300)
    assert [s.schema for s in due.canaries] == ["c"] and [s.schema for s in due.rest] == ["a"]


def test_a_deploy_retries_every_failure_and_a_new_target_forgets_old_ones():
    recent = state("a", failure="boom", failed_ago=1)
    assert [s.schema for s in plan([recent], TARGET, NOW).rest] == ["a"]  # no retry_after: the deploy hook
    assert plan([recent], TARGET, NOW, retry_after=300).rest == []
    older_target = state("a", failure="boom", failed_ago=1, failed_version="another")
    assert [s.schema for s in plan([older_target], TARGET, NOW, retry_after=300).rest] == ["a"]


def test_the_target_plans_missing_migrations_after_their_dependencies():
    assert TARGET.plan(frozenset()) == [("a", "0001"), ("a", "0002"), ("b", "0001"), ("b", "0002")]
    assert TARGET.plan(frozenset({"a.0001", "b.0001"})) == [("a", "0002"), ("b", "0002")]
    assert TARGET.plan(TARGET.names) == []


def test_versions_do_not_depend_on_order_and_match_postgresql_md5_of_the_sorted_names():
    assert version_of(["b.0001", "a.0001"]) == version_of(["a.0001", "b.0001"])
    assert version_of([]) == "d41d8cd98f00"  # md5('') as the survey computes it for an empty schema
    assert version_of(["a.0001"]) != version_of(["a.0001", "a.0002"])


def test_the_summary_counts_current_behind_and_failed_and_groups_versions():
    states = [state("a", pending=0), state("b"), state("c", failure="boom", failed_ago=1)]
    assert survey.summary(states, TARGET) == {"target": TARGET.version, "current": 1, "behind": 1, "failed": 1,
                                              "versions": {TARGET.version: 1, "old": 2}}


def test_the_tenants_query_escapes_the_namespace_for_like():
    sql, params = survey.tenants_sql("team_a%")
    assert "LIKE %s" in sql and params == ["team\\_a\\%/%"]
    assert survey.tenants_sql(None)[1] == []


def test_a_tenant_shows_current_pending_or_failed_and_the_condition_follows():
    current = migrations_status(state("a", pending=0), TARGET.version)
    assert current["state"] == "Current" and "lastError" not in current
    assert condition(current)[:2] == (True, "Migrated")
    pending = migrations_status(state("b", pending=2), TARGET.version)
    assert pending["state"] == "Pending" and condition(pending)[:2] == (False, "MigrationPending")
    failed = migrations_status(state("c", failure="column exists", failed_ago=5), TARGET.version)
    assert failed["state"] == "Failed" and failed["lastError"] == "column exists"
    assert failed["failedAt"] == "2026-12-01T11:59:55Z"
    assert condition(failed) == (False, "MigrationFailed", "1 pending: column exists")
    assert condition(None) is None


def test_the_condition_is_outdated_only_when_it_disagrees_with_status_migrations():
    migrations = migrations_status(state("a", pending=0), TARGET.version)
    assert not condition_outdated({})
    assert condition_outdated({"migrations": migrations, "conditions": []})
    ok, reason, message = condition(migrations)
    shown = {"type": "Migrated", "status": "True", "reason": reason, "message": message}
    assert not condition_outdated({"migrations": migrations, "conditions": [shown]})
    assert condition_outdated({"migrations": migrations, "conditions": [{**shown, "status": "False"}]})


def test_the_fleet_summary_is_strings_with_the_commonest_version_first():
    data = fleet_summary({"target": "t", "current": 3, "behind": 1, "failed": 0, "versions": {"t": 3, "o": 1}},
                         "idle")
    assert data == {"target": "t", "current": "3", "behind": "1", "failed": "0", "versions": "t=3, o=1",
                    "rollout": "idle"}
