"""Property-based hostile Tenant specs, sent to the real API server with this run's operator and webhook.

Each generated Tenant is either refused at once (the API server's schema/CEL rules or the admission
webhook, with a message naming the field or the conflict), or accepted and driven by the operator to a
clear end: Ready, Suspended, or Failed with a reason and a message. Throughout, the operator process
stays alive with no traceback in its log, and a canary tenant keeps its rows, schema and conditions.
test_tenant_specs.py holds the hand-picked cases; this explores around them.
"""
import json
import uuid

import pytest
from django_tenants.utils import tenant_context
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from kubernetes import client as k8s
from kubernetes import config as k8s_config

from harness import ready_tenant_with_a_row
from localplatform import config
from localplatform.proc import log_file, read_pid
from tenantry.projects.models import Project
from tenantry.tenancy.models import Tenant
from testkit.net import direct
from testkit.tenants import condition

pytestmark = pytest.mark.e2e

GROUP, VERSION, PLURAL = "tenantry.dev", "v1alpha1", "tenants"
END_PHASES = {"Ready", "Suspended", "Failed"}
SERVED = {"Ready": 200, "Suspended": 503}
SQL_AND_SCRIPT = ["'; DROP SCHEMA public CASCADE; --", "<script>alert(1)</script>", "t_x\"; SELECT 1; --",
                  "public", "pg_catalog", "information_schema", "tenant_template", "tenantry", "\u0000", "a" * 300,
                  "ünïcode", "${jndi:ldap://x}", "{{7*7}}", "../../etc/passwd", " ", ""]


def hostile_text(max_size: int = 300):
    return st.one_of(st.sampled_from(SQL_AND_SCRIPT), st.text(max_size=max_size))


def mostly(valid, hostile):
    """Eight valid draws to one hostile one, so a spec often gets past one rule to meet the next."""
    return st.one_of(*[valid] * 8, hostile)


def specs(canary_host: str, canary_schema: str):
    """Spec fields, each present or not, each a plausible value or a hostile one."""
    label = st.from_regex(r"\A[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?\Z")
    fresh_domain = st.builds(lambda a, b: f"{a}.{b}.localhost", label, label)
    fields = {
        "displayName": mostly(st.text(max_size=200), hostile_text(250)),
        "schema": mostly(st.from_regex(r"\At_[a-z0-9_]{1,20}\Z"),
                         st.one_of(st.just(canary_schema), st.from_regex(r"\At_[a-z0-9_]{61}\Z"), hostile_text(70))),
        "domains": mostly(st.lists(fresh_domain, min_size=1, max_size=3),
                          st.lists(st.one_of(fresh_domain, st.just(canary_host), hostile_text(80)), max_size=4)),
        "plan": mostly(st.just("free"), st.one_of(st.sampled_from(["platinum", "FREE", "free; --"]),
                                                  hostile_text(60))),
        "owner": st.fixed_dictionaries({}, optional={"email": mostly(st.emails(), hostile_text(60))}),
        "suspended": mostly(st.booleans(), st.just("yes")),
        "backup": st.fixed_dictionaries({}, optional={
            "enabled": st.booleans(), "schedule": mostly(st.just("0 3 * * *"), hostile_text(120)),
            "retention": mostly(st.integers(1, 30), st.integers(min_value=-5, max_value=2 ** 40))}),
        "deletionPolicy": mostly(st.just("Retain"), st.sampled_from(["Destroy", "retain"])),
        "unknownField": st.just("dropped by structural pruning"),
    }
    return st.fixed_dictionaries({}, optional=fields)


def past_the_api_server(canary_host: str, canary_schema: str):
    """Specs the API server's own rules accept, so every one meets the webhook or the operator:
    script and SQL in the display name, the canary's schema or domain, edge-length names, a plan
    that does not exist."""
    label = st.from_regex(r"\A[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?\Z")
    fresh_domain = st.builds(lambda a, b: f"{a}.{b}.localhost", label, label)
    fields = {
        "displayName": st.one_of(st.text(min_size=1, max_size=200),
                                 st.sampled_from([s for s in SQL_AND_SCRIPT if 0 < len(s) <= 200])),
        "schema": st.one_of(st.from_regex(r"\At_[a-z0-9_]{1,20}\Z"), st.from_regex(r"\At_[a-z0-9_]{61}\Z"),
                            st.just(canary_schema)),
        "domains": st.lists(st.one_of(fresh_domain, fresh_domain, st.just(canary_host)), min_size=1, max_size=3,
                            unique=True),
        "plan": st.sampled_from(["free", "free", "platinum"]),
        "owner": st.fixed_dictionaries({"email": st.emails()}),
        "suspended": st.booleans(),
    }
    return st.fixed_dictionaries({}, optional=fields)


def valid_names():
    """Fresh names, some long enough that the schema or domain derived from them cannot work."""
    pads = st.sampled_from(["", "-x", ".dotted", "-" + "y" * 70])
    return st.builds(lambda pad: f"h{uuid.uuid4().hex[:8]}{pad}", pads)


def names():
    """Mostly fresh valid names, sometimes names the API server must refuse."""
    return mostly(valid_names(), hostile_text(260))


@pytest.fixture(scope="module")
def api(app):
    return k8s.CustomObjectsApi(k8s_config.new_client_from_config(str(config.KUBECONFIG)))


@pytest.fixture(scope="module")
def canary(app):
    """A Ready tenant with a row, whose state every hostile spec must leave exactly as it was (once
    settled: the fleet loop's first survey adds its Migrated condition)."""
    name, tenant = ready_tenant_with_a_row(app, "canary", "canary row")
    app.wait_for(lambda: condition(app.tenant(name), "Migrated").get("status") == "True", timeout=30,
                 what=f"{name} Migrated")
    return name, tenant


def canary_state(app, name: str, tenant: Tenant) -> dict:
    resource = app.tenant(name)
    with tenant_context(tenant):
        rows = list(Project.objects.values_list("name", flat=True))
    with direct(app.db_name) as conn:
        public = conn.execute("SELECT schema_name, state, display_name, plan, updated_at, (SELECT array_agg("
                              "domain ORDER BY domain) FROM tenancy_domain WHERE tenant_id = t.id) "
                              "FROM tenancy_tenant t WHERE id = %s", [tenant.id]).fetchone()
        tables = conn.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = %s",
                              [tenant.schema_name]).fetchone()[0]
    return {"conditions": resource["status"]["conditions"], "generation": resource["metadata"]["generation"],
            "rows": rows, "public": public, "tables": tables, "served": app.get(f"{name}.localhost")[0]}


def tracebacks(log: str) -> list[str]:
    """The distinct exceptions of the tracebacks in `log`. A failure of logging itself counts too:
    Python prints "--- Logging error ---" and tracebacks instead of the message, which is lost."""
    found, lines, i = set(), log.splitlines(), 0
    while i < len(lines):
        if lines[i] == "--- Logging error ---":
            end = next((j for j in range(i, len(lines)) if lines[j].startswith("Call stack:")), len(lines))
            raised = [x for x in lines[i + 1:end] if x and not x.startswith((" ", "Traceback", "During handling"))]
            found.add(f"logging error: {raised[-1][:200] if raised else '?'}")
            i = end
        elif lines[i].startswith("Traceback"):
            found.add(next((x for x in lines[i + 1:] if x and not x.startswith(" ")), "?")[:200])
        i += 1
    return sorted(found)


def refusal_is_clear(status: int, body: dict) -> bool:
    message = body.get("message", "")
    return status in (400, 422) and bool(message) and any(
        word in message for word in ("spec", "metadata.name", "denied the request", "Invalid value"))


def ended_clearly(tenant: dict) -> bool:
    status = tenant.get("status", {})
    ready = condition(tenant, "Ready")
    if status.get("phase") not in END_PHASES or ready.get("observedGeneration") != tenant["metadata"]["generation"]:
        return False
    return ready["status"] == "True" or bool(ready.get("reason") and ready.get("message"))


def test_hostile_specs_end_clearly_and_never_touch_the_canary_or_crash_the_operator(app, api, canary, capsys):
    name, tenant = canary
    before = canary_state(app, name, tenant)
    log = log_file(app.operator.name)
    log_start = log.stat().st_size
    operator_pid = read_pid(app.operator.name)
    outcomes: dict[str, int] = {}
    created: set[str] = set()

    def absent(tenant_name: str) -> bool:
        try:
            api.get_namespaced_custom_object(GROUP, VERSION, app.namespace, PLURAL, tenant_name)
        except k8s.ApiException as missing:
            return missing.status == 404
        return False

    def start_afresh(tenant_name: str) -> None:
        """Hypothesis may draw a name twice, and it replays a failing example to report it: the Tenant
        an earlier example created under this name goes first, so each run of an example starts from
        the same state. Only names created here: a DELETE for "" would address the whole collection."""
        if tenant_name in created:
            try:
                api.delete_namespaced_custom_object(GROUP, VERSION, app.namespace, PLURAL, tenant_name)
            except k8s.ApiException as gone:
                assert gone.status == 404, gone
            app.wait_for(lambda: absent(tenant_name), what=f"{tenant_name} deleted")

    def hostile(tenant_name, spec):
        start_afresh(tenant_name)
        body = {"apiVersion": f"{GROUP}/{VERSION}", "kind": "Tenant", "metadata": {"name": tenant_name},
                "spec": spec}
        try:
            api.create_namespaced_custom_object(GROUP, VERSION, app.namespace, PLURAL, body)
        except k8s.ApiException as refused:
            answer = json.loads(refused.body or "{}")
            assert refusal_is_clear(refused.status, answer), (refused.status, answer, spec)
            where = "webhook" if "denied the request" in answer.get("message", "") else "API server"
            outcomes[f"refused by the {where}"] = outcomes.get(f"refused by the {where}", 0) + 1
            return
        created.add(tenant_name)
        current = app.wait_for(lambda: t if ended_clearly(t := app.tenant(tenant_name)) else None,
                               what=f"{tenant_name} to end clearly ({spec})")
        end = current["status"]["phase"]
        if end in SERVED:  # served at its first domain, its (maybe hostile) display name escaped
            status, _, page = app.get((spec.get("domains") or [f"{tenant_name}.localhost"])[0])
            display_name = spec.get("displayName", "")
            assert status == SERVED[end] and ("<" not in display_name or display_name not in page), (status, spec)
        if end == "Failed":
            end += f" ({condition(current, 'Ready')['reason']})"
        outcomes[end] = outcomes.get(end, 0) + 1
        api.delete_namespaced_custom_object(GROUP, VERSION, app.namespace, PLURAL, tenant_name)
        assert read_pid(app.operator.name) == operator_pid, "the operator died"

    bounded = settings(max_examples=25, deadline=None, database=None,
                       suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
    canary_host = f"{name}.localhost"
    bounded(given(tenant_name=names(), spec=specs(canary_host, tenant.schema_name))(hostile))()
    # Found by this test: a name too long for the children named after it (CronJob
    # tenant-<name>-backup: at most 52), with schema and domain given so the webhook has nothing to
    # say. It hung in Provisioning; the CRD now refuses it. Kept as a fixed example.
    long_name = example(tenant_name=f"h{uuid.uuid4().hex[:8]}-" + "z" * 40,
                        spec={"schema": f"t_{uuid.uuid4().hex[:12]}", "domains": [f"{uuid.uuid4().hex[:8]}.localhost"]})
    bounded(long_name(given(tenant_name=valid_names(),
                            spec=past_the_api_server(canary_host, tenant.schema_name))(hostile)))()
    with capsys.disabled():
        print(f"\nhostile Tenant specs: {dict(sorted(outcomes.items()))}")

    assert read_pid(app.operator.name) == operator_pid, "the operator died"
    after = canary_state(app, name, tenant)
    assert after == before
    assert before["served"] == 200 and before["rows"] == ["canary row"]
    assert tracebacks(log.read_text(errors="replace")[log_start:]) == [], f"tracebacks in {log}"
