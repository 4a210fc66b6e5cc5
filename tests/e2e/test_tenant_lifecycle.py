"""kubectl apply a Tenant -> the operator provisions it -> gunicorn serves it through PgBouncer.

Runs against this run's own operator and gunicorn (see harness.app), on the real kube-apiserver.
"""
import json
import os
import subprocess

import pytest

from harness import schema_exists, unique
from localplatform import config
from localplatform.components import app_env
from localplatform.proc import PlatformError
from tenantry.backups.services import Manifest, verify_backup
from testkit.tenants import condition

pytestmark = pytest.mark.e2e


def test_a_tenant_applied_with_kubectl_becomes_ready_and_is_served(app):
    name = unique("shop")
    app.apply_tenant(name, displayName="Shop One")
    app.wait_ready(name)

    tenant = app.tenant(name)
    schema = "t_" + name.replace("-", "_")
    assert tenant["status"]["phase"] == "Ready"
    assert tenant["status"]["schema"] == schema
    assert tenant["status"]["observedGeneration"] == tenant["metadata"]["generation"] == 1
    for step in ("SchemaReady", "RoutingReady", "BackupReady"):
        assert condition(tenant, step)["status"] == "True", step
        assert condition(tenant, step)["observedGeneration"] == 1
    assert schema_exists(app.db_name, schema)

    ingress = json.loads(app.kubectl("get", "ingress", f"tenant-{name}", "-o", "json"))
    assert [rule["host"] for rule in ingress["spec"]["rules"]] == [f"{name}.localhost"]
    assert ingress["metadata"]["ownerReferences"][0]["uid"] == tenant["metadata"]["uid"]
    cronjob = json.loads(app.kubectl("get", "cronjob", f"tenant-{name}-backup", "-o", "json"))
    assert cronjob["spec"]["concurrencyPolicy"] == "Forbid" and cronjob["spec"]["suspend"] is False

    status, _, page = app.get(f"{name}.localhost")
    assert status == 200
    assert "<h1>Shop One</h1>" in page and f'data-testid="schema">{schema}<' in page

    # A spec change is a new generation; Ready follows it, and the page shows the new name.
    app.kubectl("patch", "tenant", name, "--type=merge", "-p", '{"spec": {"displayName": "Shop Two"}}')
    app.wait_for(lambda: app.tenant(name)["metadata"]["generation"] == 2
                 and app.is_ready(name), what="generation 2 Ready")
    app.wait_for(lambda: "<h1>Shop Two</h1>" in app.get(f"{name}.localhost")[2], what="new display name served")


def test_the_api_server_rejects_reserved_schemas_and_schema_changes(app):
    name = unique("bad")
    with pytest.raises(PlatformError, match="schema is reserved"):
        app.apply_tenant(name, schema="pg_catalog")
    with pytest.raises(PlatformError, match="spec.schema"):
        app.apply_tenant(name, schema="bad; DROP SCHEMA public")

    app.apply_tenant(name, schema=name.replace("-", "_"))
    with pytest.raises(PlatformError, match="spec.schema is immutable"):
        app.kubectl("patch", "tenant", name, "--type=merge", "-p", '{"spec": {"schema": "elsewhere"}}')


def test_deletion_follows_the_deletion_policy(app):
    kept, dropped = unique("kept"), unique("dropped")
    app.apply_tenant(kept)
    app.apply_tenant(dropped, deletionPolicy="Delete")
    for name in (kept, dropped):
        app.wait_ready(name)

    app.kubectl("delete", "tenant", kept, dropped, "--timeout=60s")
    app.served(f"{kept}.localhost", 404)
    assert schema_exists(app.db_name, "t_" + kept.replace("-", "_"))
    dropped_schema = "t_" + dropped.replace("-", "_")
    assert not schema_exists(app.db_name, dropped_schema)
    # Delete took a final backup first, and it is whole.
    manifests = list((config.LOCAL / "backups" / app.operator.name / dropped_schema).glob("*.json"))
    assert len(manifests) == 1
    verify_backup(config.LOCAL / "backups" / app.operator.name, Manifest(**json.loads(manifests[0].read_text())))


def test_the_backup_cronjob_runs_the_real_backup_command(app, tmp_path):
    """No kubelet runs here, so the test runs the CronJob's container command itself, as the pod would."""
    name = unique("backed")
    app.apply_tenant(name, backup={"schedule": "30 1 * * *", "retention": 2})
    app.wait_ready(name)
    cronjob = json.loads(app.kubectl("get", "cronjob", f"tenant-{name}-backup", "-o", "json"))
    assert cronjob["spec"]["schedule"] == "30 1 * * *"
    container = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    command = [str(config.VENV / "bin" / "python") if part == "python" else part for part in container["command"]]
    command = [f"--dir={tmp_path}" if part.startswith("--dir=") else part for part in command]
    env = {**os.environ, **app_env(app.db_name, pooled=False),
           **{item["name"]: item["value"] for item in container["env"]}}
    result = subprocess.run(command, env=env, capture_output=True, text=True, cwd=config.ROOT / "app")
    assert result.returncode == 0, result.stderr
    schema = "t_" + name.replace("-", "_")
    assert len(list((tmp_path / schema).glob("*.dump"))) == 1 and "sha256=" in result.stdout


def test_children_are_garbage_collected_with_the_tenant(app):
    name = unique("gc")
    app.apply_tenant(name)
    app.wait_ready(name)
    app.kubectl("delete", "tenant", name, "--timeout=60s")

    def gone() -> bool:
        left = app.kubectl("get", "ingress,cronjob", "-l", f"tenantry.dev/tenant={name}", "-o", "name")
        return left.strip() == ""

    app.wait_for(gone, timeout=60, what="kube-controller-manager to collect the Ingress and CronJob")
