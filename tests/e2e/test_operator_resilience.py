"""The operator under faults: drift, a vanished schema, a crash half way, a lost or missing database."""
import dataclasses
import json
import os
import re
import signal
import time
import urllib.request

import pytest
from django.db import connections

from conftest import RUN_ID
from harness import kubectl_run, schema_exists, start_or_fail, unique
from localplatform import config
from localplatform.components import operator
from localplatform.proc import port_open, read_pid
from localplatform.stack import discard, ensure_namespace, kubectl, start_all
from testkit import tenants
from testkit.net import direct, free_port
from testkit.tenants import condition

pytestmark = pytest.mark.e2e


def applied_and_ready(app, name: str, **spec) -> dict:
    app.apply_tenant(name, **spec)
    app.wait_ready(name)
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
        app.apply_tenant(name)
        app.wait_for(lambda: schema_exists(app.db_name, schema) and _waiting_on_a_lock(app.db_name), timeout=30,
                     what="the operator to block half way")
        pid = read_pid(app.operator.name)
        os.killpg(pid, signal.SIGKILL)
        app.wait_for(lambda: read_pid(app.operator.name) is None and not port_open(app.operator.port), timeout=10,
                     what="the operator to die")
        lock.execute("ROLLBACK")
    start_all([app.operator])

    app.wait_for(lambda: app.is_ready(name), timeout=60, what=f"{name} Ready after the crash")
    with direct(app.db_name) as conn:
        assert conn.execute("SELECT count(*) FROM information_schema.schemata WHERE schema_name = %s",
                            [schema]).fetchone()[0] == 1
        assert conn.execute("SELECT count(*) FROM tenancy_tenant WHERE schema_name = %s", [schema]).fetchone()[0] == 1
        assert conn.execute("SELECT count(*) FROM billing_subscription s JOIN tenancy_tenant t ON t.id = s.tenant_id "
                            "WHERE t.schema_name = %s AND s.status = 'active'", [schema]).fetchone()[0] == 1
    for kind in ("ingress", "cronjob"):
        assert len(app.kubectl("get", kind, "-l", f"tenantry.dev/tenant={name}", "-o", "name").split()) == 1


def admissions(metrics_port: int, result: str) -> float:
    """The operator's count of webhook decisions with this result (0 before the first)."""
    with urllib.request.urlopen(f"http://{config.HOST}:{metrics_port}/metrics", timeout=5) as response:
        found = re.search(rf'tenantry_operator_webhook_admissions_total\{{result="{result}"\}} (\S+)',
                          response.read().decode())
    return float(found.group(1)) if found else 0.0


def _waiting_on_a_lock(database: str) -> bool:
    with direct(database) as conn:
        return conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND wait_event_type = 'Lock'",
                            [database]).fetchone()[0] > 0


def test_tenants_applied_after_the_operators_connections_were_cut_are_admitted_and_provisioned(app):
    """What a PostgreSQL restart does to the operator: every connection it holds is cut. Found by
    `make chaos`: the webhook then refused the next Tenants with "the connection is lost". It now
    checks a connection before reusing it (CONN_HEALTH_CHECKS on direct connections)."""
    applied_and_ready(app, unique("before"))  # the operator's threads hold connections now
    unchecked = admissions(int(app.operator.env["TENANTRY_METRICS_PORT"]), "unchecked")
    with direct(app.db_name) as conn:
        cut = conn.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                           "WHERE datname = %s AND pid <> pg_backend_pid()", [app.db_name]).fetchone()[0]
    connections.close_all()  # this process's own connection was among them
    assert cut >= 1
    names = [unique("after") for _ in range(4)]
    for name in names:
        app.apply_tenant(name)  # through the webhook: refused before the fix
    for name in names:
        app.wait_ready(name)
    # Checked against the database each time, not let in because the database seemed gone.
    assert admissions(int(app.operator.env["TENANTRY_METRICS_PORT"]), "unchecked") == unchecked


def test_a_webhook_without_its_database_lets_tenants_in_for_the_reconcile_loop_to_judge(app):
    """An operator whose database is unreachable: refusing would block every Tenant write (the
    operator's own finalizer patches too), so the webhook admits unchecked and says so in a metric,
    and the reconcile loop reports the outage on the Tenant and retries."""
    namespace = f"tenantry-nodb-{RUN_ID}"
    ensure_namespace(namespace)
    metrics_port = free_port()
    runner = operator(name=f"operator-nodb-{RUN_ID}", port=free_port(), namespace=namespace, db_name=app.db_name,
                      metrics_port=metrics_port, webhook_port=free_port(), drift_interval_seconds=600)
    nothing_listens = config.database_url(free_port(), app.db_name)
    runner = dataclasses.replace(runner, env={**runner.env, "DATABASE_URL": nothing_listens})
    start_or_fail([runner])
    name = unique("nodb")
    try:
        kubectl("-n", namespace, "apply", "-f", "-", input=tenants.manifest(tenants.tenant(name)))

        def schema_condition() -> dict:
            tenant = json.loads(kubectl("-n", namespace, "get", "tenant", name, "-o", "json"))
            return condition(tenant, "SchemaReady")

        app.wait_for(lambda: schema_condition().get("reason") == "ProvisioningFailed", what="ProvisioningFailed")
        assert "OperationalError" in schema_condition()["message"], schema_condition()
        assert admissions(metrics_port, "unchecked") >= 1
    finally:
        discard(runner)
        # Its finalizer needs a database to be honoured; nothing was provisioned, so let it go.
        kubectl_run("-n", namespace, "patch", "tenant", name, "--type=merge", "-p",
                    '{"metadata": {"finalizers": null}}', check=False)
        kubectl_run("delete", "validatingwebhookconfiguration", f"tenantry.dev.{namespace}", "--ignore-not-found",
                    check=False)
        kubectl("delete", "namespace", namespace, "--wait=false")


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
