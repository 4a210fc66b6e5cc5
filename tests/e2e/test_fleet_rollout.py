"""A release with a new migration, rolled out by the operator to Tenants a previous operator made:
every tenant's status says where it stands, canaries go first, a failing tenant is marked alone, a
failing canary holds the rest until it is repaired."""
import json
import time
import urllib.request
import uuid
from contextlib import contextmanager

import pytest

from bench import migration_probe
from conftest import RUN_ID
from harness import App, kubectl_run, scratch_namespace, start_or_fail
from localplatform.components import operator
from localplatform.stack import discard
from testkit import tenants
from testkit.net import direct, free_port
from testkit.tenants import condition

pytestmark = pytest.mark.e2e


@contextmanager
def operator_for(app, namespace: str, extra_env: dict[str, str] | None = None):
    runner = operator(name=f"operator-fleet-{RUN_ID}-{uuid.uuid4().hex[:4]}", port=free_port(), namespace=namespace,
                      db_name=app.db_name, web_port=app.web_port, drift_interval_seconds=3,
                      fleet_interval_seconds=1, metrics_port=free_port(), extra_env=extra_env)
    start_or_fail([runner])
    try:
        yield runner
    finally:
        discard(runner)


def release_env(tmp_path) -> dict[str, str]:
    release = migration_probe.write_release(tmp_path)
    return {"DJANGO_SETTINGS_MODULE": release["settings"], "PYTHONPATH": str(tmp_path),
            "TENANTRY_MIGRATION_RETRY_SECONDS": "2"}


def tenants_in(namespace: str) -> dict[str, dict]:
    listed = json.loads(kubectl_run("-n", namespace, "get", "tenants", "-o", "json").stdout)["items"]
    return {t["metadata"]["name"]: t for t in listed}


def migrations(tenant: dict) -> dict:
    return tenant.get("status", {}).get("migrations") or {}


def apply_fleet(app: App, namespace: str, canaries: list[str], others: list[str]) -> None:
    """Tenants named after `namespace` (schemas are per database, and this one is shared), whose
    schemas go with them when the test deletes them."""
    docs = [tenants.tenant(name, migrations={"canary": name in canaries}, deletionPolicy="Delete",
                           schema=f"t_{namespace}_{name}".replace("-", "_"))
            for name in canaries + others]
    kubectl_run("-n", namespace, "apply", "-f", "-", input=tenants.manifest(*docs))
    app.wait_for(lambda: all(condition(t, "Ready").get("status") == "True"
                             and migrations(t).get("state") == "Current" for t in tenants_in(namespace).values())
                 and len(tenants_in(namespace)) == len(canaries + others), timeout=90,
                 what="the fleet Ready and Current at the running release")


def schema_of(namespace: str, name: str) -> str:
    return tenants_in(namespace)[name]["status"]["schema"]


def add_priority_column(app: App, schema: str, add: bool = True) -> None:
    """Make the release's ADD COLUMN fail in this schema (or repair it)."""
    with direct(app.db_name) as conn:
        conn.execute(f'ALTER TABLE "{schema}".projects_project '
                     + ("ADD COLUMN priority text" if add else "DROP COLUMN priority"))


def applied_at(app: App, schema: str):
    with direct(app.db_name) as conn:
        row = conn.execute(f'SELECT applied FROM "{schema}".django_migrations WHERE app = %s AND name = %s',
                           ["projects", migration_probe.PROBE_NAME]).fetchall()
    assert len(row) <= 1, f"{schema} recorded the migration {len(row)} times"
    return row[0][0] if row else None


def events_of(namespace: str, kind: str, name: str) -> list[dict]:
    listed = kubectl_run("-n", namespace, "get", "events", "--field-selector",
                         f"involvedObject.kind={kind},involvedObject.name={name}", "-o", "json").stdout
    return json.loads(listed)["items"]


def test_a_new_release_reaches_every_tenant_canary_first_and_marks_only_the_failing_one(app, tmp_path):
    with scratch_namespace("fleet") as namespace:
        with operator_for(app, namespace):
            apply_fleet(app, namespace, canaries=["canary"], others=["alpha", "beta", "broken"])
        old_target = migrations(tenants_in(namespace)["alpha"])["target"]
        add_priority_column(app, schema_of(namespace, "broken"))

        with operator_for(app, namespace, release_env(tmp_path)):
            app.wait_for(lambda: {n: migrations(t).get("state") for n, t in tenants_in(namespace).items()}
                         == {"canary": "Current", "alpha": "Current", "beta": "Current", "broken": "Failed"},
                         timeout=90, what="the rollout: three tenants Current, the broken one Failed")
            fleet = tenants_in(namespace)
            assert {migrations(t)["target"] for t in fleet.values()} != {old_target}
            assert all(migrations(t)["version"] == migrations(t)["target"] for n, t in fleet.items() if n != "broken")
            broken = fleet["broken"]
            assert "already exists" in migrations(broken)["lastError"] and migrations(broken)["pending"] == 1
            assert condition(broken, "Migrated")["status"] == "False"
            assert condition(broken, "Migrated")["reason"] == "MigrationFailed"
            assert condition(broken, "Ready")["status"] == "True", "a tenant behind is still served"
            assert condition(fleet["alpha"], "Migrated")["status"] == "True"
            failed = [e for e in events_of(namespace, "Tenant", "broken") if e["reason"] == "MigrationFailed"]
            assert failed and failed[0]["type"] == "Warning" and "already exists" in failed[0]["message"]
            assert {e["source"]["component"] for e in failed} == {"tenantry-operator"}  # not "kopf"
            summary = json.loads(kubectl_run("-n", namespace, "get", "configmap", "tenantry-migrations",
                                             "-o", "json").stdout)["data"]
            assert (summary["current"], summary["failed"], summary["behind"]) == ("3", "1", "0"), summary
            fleet_events = events_of(namespace, "ConfigMap", "tenantry-migrations")
            assert {"RolloutStarted", "RolloutFinished"} <= {e["reason"] for e in fleet_events}, fleet_events
            assert {e["reportingComponent"] for e in fleet_events} == {"tenantry-operator"}
            table = kubectl_run("-n", namespace, "get", "tenants").stdout
            assert "MIGRATED" in table.splitlines()[0] and "Failed" in table
        canary_at = applied_at(app, schema_of(namespace, "canary"))
        assert all(canary_at < applied_at(app, schema_of(namespace, name)) for name in ("alpha", "beta"))
        assert applied_at(app, schema_of(namespace, "broken")) is None
        with operator_for(app, namespace):  # Tenants carry the finalizer: let an operator release them
            kubectl_run("-n", namespace, "delete", "tenants", "--all", "--timeout=60s")


def test_a_failing_canary_holds_the_rollout_until_it_is_repaired(app, tmp_path):
    with scratch_namespace("fleet") as namespace:
        with operator_for(app, namespace):
            apply_fleet(app, namespace, canaries=["canary"], others=["alpha"])
        canary_schema = schema_of(namespace, "canary")
        add_priority_column(app, canary_schema)

        with operator_for(app, namespace, release_env(tmp_path)) as runner:
            app.wait_for(lambda: migrations(tenants_in(namespace)["canary"]).get("state") == "Failed", timeout=60,
                         what="the canary to fail")
            app.wait_for(lambda: any(e["reason"] == "RolloutHeld" for e in
                                     events_of(namespace, "ConfigMap", "tenantry-migrations")),
                         timeout=30, what="a RolloutHeld event")
            for _ in range(3):  # several fleet rounds (1 s each) and retries (2 s): alpha is never touched
                assert migrations(tenants_in(namespace)["alpha"])["state"] == "Pending"
                assert applied_at(app, schema_of(namespace, "alpha")) is None
                time.sleep(1.5)
            summary = json.loads(kubectl_run("-n", namespace, "get", "configmap", "tenantry-migrations",
                                             "-o", "json").stdout)["data"]
            assert summary["rollout"].startswith(f"held: canary {canary_schema} failed"), summary
            metrics = urllib.request.urlopen(
                f"http://127.0.0.1:{runner.env['TENANTRY_METRICS_PORT']}/metrics", timeout=5).read().decode()
            assert "tenantry_operator_rollout_held 1.0" in metrics

            add_priority_column(app, canary_schema, add=False)
            app.wait_for(lambda: {migrations(t).get("state") for t in tenants_in(namespace).values()} == {"Current"},
                         timeout=60, what="the repaired canary, then alpha, to migrate")
        assert applied_at(app, canary_schema) < applied_at(app, schema_of(namespace, "alpha"))
        with operator_for(app, namespace):
            kubectl_run("-n", namespace, "delete", "tenants", "--all", "--timeout=60s")
