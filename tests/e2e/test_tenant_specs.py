"""Hostile and invalid Tenant specs: each is refused where it should be, with a message that says
what to change, and no existing tenant or its data is touched. Also: domain changes and suspension.

Run with `-s` to print the table of where each spec was rejected and why.
"""
import json

import pytest
from django_tenants.utils import tenant_context
from test_tenant_lifecycle import condition, manifest, ready_at_current_generation

from harness import unique
from localplatform.proc import PlatformError
from tenantry.accounts.models import User
from tenantry.projects.models import Project
from tenantry.tenancy.models import Tenant

pytestmark = pytest.mark.e2e

# (case, spec fields, expected fragment of the API server's refusal)
REFUSED_BY_THE_API = [
    ("reserved schema public", {"schema": "public"}, "schema is reserved"),
    ("reserved schema pg_*", {"schema": "pg_toast"}, "schema is reserved"),
    ("reserved information_schema", {"schema": "information_schema"}, "schema is reserved"),
    ("the template schema", {"schema": "tenant_template"}, "schema is reserved"),
    ("SQL in the schema", {"schema": '"x; DROP SCHEMA public CASCADE"'}, "spec.schema in body should match"),
    ("upper-case schema", {"schema": "Acme"}, "spec.schema in body should match"),
    ("schema over 63 characters", {"schema": "a" * 64}, "spec.schema in body should match"),
    ("malformed domain", {"domains": "[bad_domain.example.com]"}, "spec.domains[0] in body should match"),
    ("upper-case domain", {"domains": "[Acme.example.com]"}, "spec.domains[0] in body should match"),
    ("single-label domain", {"domains": "[localhost]"}, "spec.domains[0] in body should match"),
    ("empty domains", {"domains": "[]"}, "spec.domains in body should have at least 1 items"),
    ("script in the display name", {"displayName": '"' + "<script>" * 30 + '"'}, "spec.displayName: Too long"),
    ("malformed owner email", {"owner": "{email: not-an-email}"}, "spec.owner.email in body should match"),
    ("unknown deletion policy", {"deletionPolicy": "Destroy"}, 'spec.deletionPolicy: Unsupported value: "Destroy"'),
    ("zero backup retention", {"backup": "{retention: 0}"}, "spec.backup.retention in body should be greater than"),
]


@pytest.fixture
def bystander(app):
    """A tenant with data that every bad spec must leave alone."""
    name = unique("bystander")
    app.apply(manifest(name))
    app.wait_for(lambda: ready_at_current_generation(app, name), what=f"{name} Ready")
    tenant = Tenant.objects.get(resource=f"{app.namespace}/{name}")
    owner = User.objects.create_user(f"{name}@example.com")
    with tenant_context(tenant):
        Project.objects.create(name="precious", owner=owner)
    return name, tenant


def test_hostile_specs_are_refused_and_nobody_else_is_touched(app, bystander, capsys):
    name, tenant = bystander
    table = []
    for case, spec, expected in REFUSED_BY_THE_API:
        with pytest.raises(PlatformError) as refused:
            app.apply(manifest(unique("bad"), **spec))
        message = str(refused.value)
        assert expected in message, (case, message)
        reason = message.split("is invalid: ", 1)[-1].split("\n")[0]
        table.append((case, "API server (schema/CEL)", reason[:110]))

    operator_cases = [
        ("unknown plan", {"plan": "platinum"}, "InvalidSpec", "unknown plan 'platinum': choose one of"),
        ("domain of another tenant", {"domains": f"[{name}.localhost]"}, "DomainConflict", "already belongs to tenant"),
        ("schema of another tenant", {"schema": tenant.schema_name}, "SchemaConflict", "already belongs to tenant"),
    ]
    for case, spec, reason, expected in operator_cases:
        bad = unique("bad")
        app.apply(manifest(bad, **spec))
        app.wait_for(lambda bad=bad: app.tenant(bad).get("status", {}).get("phase") == "Failed", what=f"{case} Failed")
        schema_ready = condition(app.tenant(bad), "SchemaReady")
        assert (schema_ready["reason"], expected in schema_ready["message"]) == (reason, True), (case, schema_ready)
        assert condition(app.tenant(bad), "Ready")["status"] == "False"
        table.append((case, f"operator ({reason})", schema_ready["message"][:110]))

    assert ready_at_current_generation(app, name)
    assert app.get(f"{name}.localhost")[0] == 200
    with tenant_context(tenant):
        assert list(Project.objects.values_list("name", flat=True)) == ["precious"]
    with capsys.disabled():
        print("\n| spec | rejected by | message |\n|---|---|---|")
        for row in table:
            print("| " + " | ".join(row) + " |")


def test_changing_domains_moves_the_tenant_without_touching_others(app, bystander):
    name = unique("moving")
    app.apply(manifest(name))
    app.wait_for(lambda: ready_at_current_generation(app, name), what=f"{name} Ready")
    moved = json.dumps({"spec": {"domains": [f"new-{name}.localhost"]}})
    app.kubectl("patch", "tenant", name, "--type=merge", "-p", moved)
    app.wait_for(lambda: app.tenant(name)["metadata"]["generation"] == 2 and ready_at_current_generation(app, name),
                 what="generation 2 Ready")
    assert app.get(f"new-{name}.localhost")[0] == 200
    assert app.get(f"{name}.localhost")[0] == 404
    ingress = json.loads(app.kubectl("get", "ingress", f"tenant-{name}", "-o", "json"))
    assert [rule["host"] for rule in ingress["spec"]["rules"]] == [f"new-{name}.localhost"]
    assert app.get(f"{bystander[0]}.localhost")[0] == 200


def test_suspending_answers_503_and_suspends_backups_and_resuming_undoes_it(app):
    name = unique("paused")
    app.apply(manifest(name))
    app.wait_for(lambda: ready_at_current_generation(app, name), what=f"{name} Ready")
    app.kubectl("patch", "tenant", name, "--type=merge", "-p", '{"spec": {"suspended": true}}')
    app.wait_for(lambda: app.tenant(name).get("status", {}).get("phase") == "Suspended", what="Suspended")
    status, headers, _ = app.get(f"{name}.localhost")
    assert status == 503 and "Retry-After" in headers
    cronjob = json.loads(app.kubectl("get", "cronjob", f"tenant-{name}-backup", "-o", "json"))
    assert cronjob["spec"]["suspend"] is True

    app.kubectl("patch", "tenant", name, "--type=merge", "-p", '{"spec": {"suspended": false}}')
    app.wait_for(lambda: app.tenant(name).get("status", {}).get("phase") == "Ready", what="Ready again")
    assert app.get(f"{name}.localhost")[0] == 200
