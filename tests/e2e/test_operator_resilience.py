"""The operator under faults: drift, a vanished schema, a crash half way, hostile specs."""
import json
import os
import re
import signal
import time
import urllib.request

import pytest
from test_tenant_lifecycle import condition, manifest, ready_at_current_generation, schema_exists

from harness import direct, unique
from localplatform import config
from localplatform.proc import port_open, read_pid
from localplatform.stack import start_all

pytestmark = pytest.mark.e2e


def applied_and_ready(app, name: str, **spec) -> dict:
    app.apply(manifest(name, **spec))
    app.wait_for(lambda: ready_at_current_generation(app, name), what=f"{name} Ready")
    return app.tenant(name)


def test_a_deleted_or_edited_ingress_is_restored_by_the_timer(app):
    name = unique("drift")
    applied_and_ready(app, name)
    ingress = f"tenant-{name}"
    app.kubectl("delete", "ingress", ingress)
    app.wait_for(lambda: ingress in app.kubectl("get", "ingress", "-o", "name"), timeout=30,
                 what="the timer to restore the Ingress")

    app.kubectl("patch", "ingress", ingress, "--type=json",
                "-p", '[{"op": "replace", "path": "/spec/rules/0/host", "value": "evil.example.com"}]')

    def restored() -> bool:
        hosts = [r["host"] for r in json.loads(app.kubectl("get", "ingress", ingress, "-o", "json"))["spec"]["rules"]]
        return hosts == [f"{name}.localhost"]

    app.wait_for(restored, timeout=30, what="the timer to undo the edit")


def test_a_vanished_schema_is_reported_with_an_event_and_never_recreated(app):
    name = unique("lost")
    tenant = applied_and_ready(app, name)
    schema = tenant["status"]["schema"]
    with direct(app.db_name) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')

    app.wait_for(lambda: condition(app.tenant(name), "SchemaReady").get("reason") == "SchemaMissing", timeout=30,
                 what="SchemaMissing")
    lost = app.tenant(name)
    assert condition(lost, "Ready")["status"] == "False"
    assert "restore it from a backup" in condition(lost, "SchemaReady")["message"]
    time.sleep(4)  # at least one more timer pass
    assert not schema_exists(app.db_name, schema)
    events = app.kubectl("get", "events", "--field-selector", f"involvedObject.name={name}", "-o", "json")
    assert any(e["reason"] == "SchemaMissing" and e["type"] == "Warning" for e in json.loads(events)["items"])


def test_killing_the_operator_half_way_converges_with_nothing_duplicated(app):
    """The operator is stopped with SIGKILL while it waits, schema already cloned, to write the
    tenant's subscription (the test holds a lock on that table); a new operator finishes the job."""
    name = unique("crash")
    schema = "t_" + name.replace("-", "_")
    with direct(app.db_name) as lock:
        lock.execute("BEGIN")
        lock.execute("LOCK TABLE billing_subscription IN ACCESS EXCLUSIVE MODE")
        app.apply(manifest(name))
        app.wait_for(lambda: schema_exists(app.db_name, schema) and _waiting_on_a_lock(app.db_name), timeout=30,
                     what="the operator to block half way")
        pid = read_pid(app.operator.name)
        os.killpg(pid, signal.SIGKILL)
        app.wait_for(lambda: read_pid(app.operator.name) is None and not port_open(app.operator.port), timeout=10,
                     what="the operator to die")
        lock.execute("ROLLBACK")
    start_all([app.operator])

    app.wait_for(lambda: ready_at_current_generation(app, name), timeout=60, what=f"{name} Ready after the crash")
    with direct(app.db_name) as conn:
        assert conn.execute("SELECT count(*) FROM information_schema.schemata WHERE schema_name = %s",
                            [schema]).fetchone()[0] == 1
        assert conn.execute("SELECT count(*) FROM tenancy_tenant WHERE schema_name = %s", [schema]).fetchone()[0] == 1
        assert conn.execute("SELECT count(*) FROM billing_subscription s JOIN tenancy_tenant t ON t.id = s.tenant_id "
                            "WHERE t.schema_name = %s AND s.status = 'active'", [schema]).fetchone()[0] == 1
    for kind in ("ingress", "cronjob"):
        assert len(app.kubectl("get", kind, "-l", f"tenantry.dev/tenant={name}", "-o", "name").split()) == 1


def _waiting_on_a_lock(database: str) -> bool:
    with direct(database) as conn:
        return conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND wait_event_type = 'Lock'",
                            [database]).fetchone()[0] > 0


def test_the_operator_exports_reconcile_metrics_without_per_tenant_series(app):
    name = unique("metered")
    applied_and_ready(app, name)
    metrics_port = int(app.operator.env["TENANTRY_METRICS_PORT"])
    with urllib.request.urlopen(f"http://{config.HOST}:{metrics_port}/metrics", timeout=5) as response:
        text = response.read().decode()
    ready = re.search(r'tenantry_operator_reconciliations_total\{result="ready",trigger="change"\} (\d+)', text)
    assert ready and float(ready.group(1)) >= 1
    phase = re.search(r'tenantry_operator_tenants\{phase="Ready"\} (\d+)', text)
    assert phase and float(phase.group(1)) >= 1
    assert "tenantry_operator_provisioning_duration_seconds_count" in text
    assert name not in text  # no series per tenant
