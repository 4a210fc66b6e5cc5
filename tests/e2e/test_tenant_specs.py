"""Hostile and invalid Tenant specs: each is refused where it should be, with a message that says
what to change, and no existing tenant or its data is touched. Also: domain changes and suspension.

Run with `-s` to print the table of where each spec was rejected and why.
"""
import json
import uuid

import pytest
from django_tenants.utils import tenant_context

from conftest import RUN_ID
from harness import ready_tenant_with_a_row, start_or_fail, unique
from localplatform.components import operator
from localplatform.proc import PlatformError, stop
from localplatform.stack import ensure_namespace, kubectl
from tenantry.projects.models import Project
from tenantry.tenancy.models import Tenant
from testkit import tenants
from testkit.net import free_port
from testkit.tenants import condition

pytestmark = pytest.mark.e2e

# (case, spec fields, expected fragment of the API server's refusal)
REFUSED_BY_THE_API = [
    ("reserved schema public", {"schema": "public"}, "schema is reserved"),
    ("reserved schema pg_*", {"schema": "pg_toast"}, "schema is reserved"),
    ("reserved information_schema", {"schema": "information_schema"}, "schema is reserved"),
    ("the template schema", {"schema": "tenant_template"}, "schema is reserved"),
    ("SQL in the schema", {"schema": "x; DROP SCHEMA public CASCADE"}, "spec.schema in body should match"),
    ("upper-case schema", {"schema": "Acme"}, "spec.schema in body should match"),
    ("schema over 63 characters", {"schema": "a" * 64}, "spec.schema in body should match"),
    ("malformed domain", {"domains": ["bad_domain.example.com"]}, "spec.domains[0] in body should match"),
    ("upper-case domain", {"domains": ["Acme.example.com"]}, "spec.domains[0] in body should match"),
    ("single-label domain", {"domains": ["localhost"]}, "spec.domains[0] in body should match"),
    ("empty domains", {"domains": []}, "spec.domains in body should have at least 1 items"),
    ("script in the display name", {"displayName": "<script>" * 30}, "spec.displayName: Too long"),
    ("malformed owner email", {"owner": {"email": "not-an-email"}}, "spec.owner.email in body should match"),
    ("unknown deletion policy", {"deletionPolicy": "Destroy"}, 'spec.deletionPolicy: Unsupported value: "Destroy"'),
    ("zero backup retention", {"backup": {"retention": 0}}, "spec.backup.retention in body should be greater than"),
    ("backup schedule that is no cron line", {"backup": {"schedule": "pg_catalog"}},
     "spec.backup.schedule in body should match"),
    ("backup schedule with seconds", {"backup": {"schedule": "0 3 * * * *"}},
     "spec.backup.schedule in body should match"),
    ("backup schedule with a time zone", {"backup": {"schedule": "TZ=UTC 0 3 * * *"}},
     "spec.backup.schedule in body should match"),
]


def claims_of(name: str, tenant: Tenant) -> list[tuple[str, dict, str]]:
    """Specs that are fine on their own but collide with the tenant `name` or name nothing real."""
    return [
        ("unknown plan", {"plan": "platinum"}, "unknown plan 'platinum': choose one of"),
        ("domain of another tenant", {"domains": [f"{name}.localhost"]}, "is already used by tenant"),
        ("schema of another tenant", {"schema": tenant.schema_name}, "is already used by tenant"),
    ]


@pytest.fixture
def bystander(app):
    """A tenant with data that every bad spec must leave alone."""
    return ready_tenant_with_a_row(app, "bystander", "precious")


def test_hostile_specs_are_refused_and_nobody_else_is_touched(app, bystander, capsys):
    name, tenant = bystander
    table = []
    for case, spec, expected in REFUSED_BY_THE_API:
        with pytest.raises(PlatformError) as refused:
            app.apply_tenant(unique("bad"), **spec)
        message = str(refused.value)
        assert expected in message, (case, message)
        line = next(line for line in message.splitlines() if expected in line)
        table.append((case, "API server (schema/CEL)", line.split("is invalid: ", 1)[-1].strip()[:110]))

    for case, spec, expected in claims_of(name, tenant):
        with pytest.raises(PlatformError) as refused:
            app.apply_tenant(unique("bad"), **spec)
        message = str(refused.value)
        assert "admission webhook" in message and expected in message, (case, message)
        table.append((case, "admission webhook", message.split("denied the request: ", 1)[-1].split("\n")[0][:110]))

    assert app.is_ready(name)
    assert app.get(f"{name}.localhost")[0] == 200
    with tenant_context(tenant):
        assert list(Project.objects.values_list("name", flat=True)) == ["precious"]
    with capsys.disabled():
        print("\n| spec | rejected by | message |\n|---|---|---|")
        for row in table:
            print("| " + " | ".join(row) + " |")


def test_a_name_too_long_for_its_children_is_refused_by_the_api_server(app):
    name = "long-" + "n" * 34  # 39: its CronJob, tenant-<name>-backup, would pass 52
    with pytest.raises(PlatformError) as refused:
        app.apply_tenant(name)
    assert "metadata.name may have at most 38 characters" in str(refused.value)
    app.apply_tenant(name[:38])  # the longest name that fits
    app.wait_for(lambda: app.is_ready(name[:38]), what=f"{name[:38]} Ready")


def test_a_schedule_the_api_server_refuses_fails_the_tenant_with_its_message_until_fixed(app):
    """The CRD's pattern checks the shape of a cron line, the API server the ranges: minute 99 passes
    the first and fails the second when the operator applies the CronJob. Found by the hypothesis suite
    (a schedule of 'pg_catalog' left the tenant Provisioning forever)."""
    name = unique("badcron")
    app.apply_tenant(name, backup={"schedule": "99 3 * * *"})
    app.wait_for(lambda: app.tenant(name).get("status", {}).get("phase") == "Failed", what=f"{name} Failed")
    failed = app.tenant(name)
    ready, backup = condition(failed, "Ready"), condition(failed, "BackupReady")
    assert ready["reason"] == "InvalidSpec" and 'spec.schedule: Invalid value: "99 3 * * *"' in ready["message"]
    assert backup["reason"] == "CronJobFailed" and "above maximum" in backup["message"], backup

    app.kubectl("patch", "tenant", name, "--type=merge", "-p", '{"spec": {"backup": {"schedule": "9 3 * * *"}}}')
    app.wait_ready(name)
    cronjob = json.loads(app.kubectl("get", "cronjob", f"tenant-{name}-backup", "-o", "json"))
    assert cronjob["spec"]["schedule"] == "9 3 * * *"


def test_changing_domains_moves_the_tenant_without_touching_others(app, bystander):
    name = unique("moving")
    app.apply_tenant(name)
    app.wait_ready(name)
    moved = json.dumps({"spec": {"domains": [f"new-{name}.localhost"]}})
    app.kubectl("patch", "tenant", name, "--type=merge", "-p", moved)
    app.wait_for(lambda: app.tenant(name)["metadata"]["generation"] == 2 and app.is_ready(name),
                 what="generation 2 Ready")
    app.served(f"new-{name}.localhost", 200)
    app.served(f"{name}.localhost", 404)
    ingress = json.loads(app.kubectl("get", "ingress", f"tenant-{name}", "-o", "json"))
    assert [rule["host"] for rule in ingress["spec"]["rules"]] == [f"new-{name}.localhost"]
    assert app.get(f"{bystander[0]}.localhost")[0] == 200


def test_suspending_answers_503_and_suspends_backups_and_resuming_undoes_it(app):
    name = unique("paused")
    app.apply_tenant(name)
    app.wait_ready(name)
    app.kubectl("patch", "tenant", name, "--type=merge", "-p", '{"spec": {"suspended": true}}')
    app.wait_for(lambda: app.tenant(name).get("status", {}).get("phase") == "Suspended", what="Suspended")
    _, headers, _ = app.served(f"{name}.localhost", 503)
    assert "Retry-After" in headers
    cronjob = json.loads(app.kubectl("get", "cronjob", f"tenant-{name}-backup", "-o", "json"))
    assert cronjob["spec"]["suspend"] is True

    app.kubectl("patch", "tenant", name, "--type=merge", "-p", '{"spec": {"suspended": false}}')
    app.wait_for(lambda: app.tenant(name).get("status", {}).get("phase") == "Ready", what="Ready again")
    app.served(f"{name}.localhost", 200)


def test_with_the_webhook_down_the_operator_refuses_the_same_specs(app):
    """The second line: an operator without a webhook marks the later Tenant Failed with a reason and
    leaves the earlier one, its schema, rows and Ingress alone."""
    namespace = f"tenantry-nowebhook-{uuid.uuid4().hex[:6]}"
    ensure_namespace(namespace)
    runner = operator(name=f"operator-nowebhook-{RUN_ID}", port=free_port(), namespace=namespace, db_name=app.db_name,
                      drift_interval_seconds=600)
    start_or_fail([runner])
    try:
        def tenant_json(tenant_name: str) -> dict:
            return json.loads(kubectl("-n", namespace, "get", "tenant", tenant_name, "-o", "json"))

        name = unique("first")
        kubectl("-n", namespace, "apply", "-f", "-", input=tenants.manifest(tenants.tenant(name)))
        kubectl("-n", namespace, "wait", "--for=condition=Ready", f"tenant/{name}", "--timeout=60s")
        tenant = Tenant.objects.get(resource=f"{namespace}/{name}")
        reasons = {"unknown plan": "InvalidSpec", "domain of another tenant": "DomainConflict",
                   "schema of another tenant": "SchemaConflict"}
        for case, spec, _ in claims_of(name, tenant):
            bad = unique("bad")
            kubectl("-n", namespace, "apply", "-f", "-", input=tenants.manifest(tenants.tenant(bad, **spec)))
            app.wait_for(lambda bad=bad: tenant_json(bad).get("status", {}).get("phase") == "Failed",
                         what=f"{case} Failed")
            schema_ready = condition(tenant_json(bad), "SchemaReady")
            assert schema_ready["reason"] == reasons[case] and schema_ready["message"], (case, schema_ready)
        first = tenant_json(name)
        assert condition(first, "Ready")["status"] == "True"
        assert kubectl("-n", namespace, "get", "ingress", f"tenant-{name}", "-o", "name").strip()
        kubectl("-n", namespace, "delete", "tenants", "--all", "--timeout=60s")
    finally:
        stop(runner.name)
        kubectl("delete", "namespace", namespace, "--wait=false")
