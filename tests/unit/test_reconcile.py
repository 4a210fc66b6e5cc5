"""Every outcome of one reconcile pass, with the provisioning service and the API server stood in for
(the end-to-end suite drives the same function against real ones)."""
import json
from dataclasses import dataclass, field

import pytest
from django.db import OperationalError
from kubernetes.client.exceptions import ApiException

from tenantry.tenancy import naming
from tenantry.tenancy.services import ProvisioningConflict
from tenantry_operator.config import OperatorConfig
from tenantry_operator.reconcile import Resource, Services, reconcile

CONFIG = OperatorConfig(base_domain="example.com")


@dataclass
class Fakes:
    """Stand-ins that record what the pass asked for; `fail_*` make them fail."""
    fail_provision: Exception | None = None
    fail_kind: str = ""  # the child kind the API server refuses
    fail_status: int = 0
    still_settled: bool = True
    provisioned: list = field(default_factory=list)
    applied: list = field(default_factory=list)

    def provision(self, wanted):
        self.provisioned.append(wanted)
        if self.fail_provision:
            raise self.fail_provision

    def apply(self, obj: dict) -> dict:
        if obj["kind"] == self.fail_kind:
            refusal = ApiException(status=self.fail_status, reason="refused")
            refusal.body = json.dumps({"message": f"{obj['kind']} is invalid: spec.schedule: Invalid value"})
            raise refusal
        self.applied.append(obj)
        return obj

    def services(self) -> Services:
        return Services(apply=self.apply, provision=self.provision, settled=lambda wanted: self.still_settled)


def tenant(spec: dict | None = None, status: dict | None = None, name: str = "acme") -> Resource:
    return Resource(namespace="ns", name=name, uid="uid-1", generation=2, spec=spec or {}, status=status or {})


def conditions(outcome) -> dict[str, tuple[str, str]]:
    return {c["type"]: (c["status"], c["reason"]) for c in outcome.status["conditions"]}


CASES = {
    "served": ({}, Fakes(), "Ready", None, False,
               {"SchemaReady": ("True", "SchemaProvisioned"), "RoutingReady": ("True", "IngressApplied"),
                "BackupReady": ("True", "Scheduled"), "Ready": ("True", "Reconciled")}),
    "suspended": ({"suspended": True}, Fakes(), "Suspended", None, False,
                  {"Ready": ("True", "Reconciled"), "BackupReady": ("True", "Scheduled")}),
    "backups disabled": ({"backup": {"enabled": False}}, Fakes(), "Ready", None, False,
                         {"BackupReady": ("True", "Disabled"), "Ready": ("True", "Reconciled")}),
    "an invalid child": ({}, Fakes(fail_kind="CronJob", fail_status=422), "Failed",
                         "Kubernetes API 422: CronJob is invalid: spec.schedule: Invalid value", True,
                         {"RoutingReady": ("True", "IngressApplied"), "BackupReady": ("False", "CronJobFailed"),
                          "Ready": ("False", "InvalidSpec")}),
    "a transient API error": ({}, Fakes(fail_kind="Ingress", fail_status=500), "Provisioning",
                              "not ready: RoutingReady", False,
                              {"RoutingReady": ("False", "IngressFailed"), "Ready": ("False", "Reconciling")}),
    "a domain conflict": ({}, Fakes(fail_provision=ProvisioningConflict("domain taken", "DomainConflict")),
                          "Failed", "domain taken", True,
                          {"SchemaReady": ("False", "DomainConflict"), "RoutingReady": ("False", "SchemaNotReady"),
                           "BackupReady": ("False", "SchemaNotReady"), "Ready": ("False", "InvalidSpec")}),
    "a schema conflict": ({}, Fakes(fail_provision=ProvisioningConflict("schema taken", "SchemaConflict")),
                          "Failed", "schema taken", True, {"SchemaReady": ("False", "SchemaConflict")}),
    "a vanished schema": ({}, Fakes(fail_provision=ProvisioningConflict("restore it", "SchemaMissing")),
                          "Failed", "restore it", True, {"SchemaReady": ("False", "SchemaMissing")}),
    "an unknown plan": ({"plan": "gold"},
                        Fakes(fail_provision=ProvisioningConflict("unknown plan 'gold'", "InvalidSpec")), "Failed",
                        "unknown plan 'gold'", True, {"SchemaReady": ("False", "InvalidSpec")}),
    "a spec the service refuses": ({}, Fakes(fail_provision=naming.InvalidName("schema 'x' is reserved")),
                                   "Failed", "schema 'x' is reserved", True, {"SchemaReady": ("False", "InvalidSpec")}),
    "the database down": ({}, Fakes(fail_provision=OperationalError("connection refused")), "Provisioning",
                          "OperationalError: connection refused", False,
                          {"SchemaReady": ("False", "ProvisioningFailed"), "Ready": ("False", "Reconciling")}),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_each_outcome_of_a_pass(case):
    spec, fakes, phase, error, permanent, expected = CASES[case]
    outcome = reconcile(tenant(spec), CONFIG, fakes.services())
    assert (outcome.status["phase"], outcome.error, outcome.permanent) == (phase, error, permanent)
    assert expected.items() <= conditions(outcome).items(), conditions(outcome)
    assert all(c["observedGeneration"] == 2 for c in outcome.status["conditions"])
    if fakes.fail_provision:
        assert fakes.applied == [], "no child is applied for a schema that is not there"


def test_a_suspended_tenant_gets_a_suspended_cronjob():
    fakes = Fakes()
    reconcile(tenant({"suspended": True}), CONFIG, fakes.services())
    cronjob = next(obj for obj in fakes.applied if obj["kind"] == "CronJob")
    assert cronjob["spec"]["suspend"] is True


def test_a_name_that_cannot_work_fails_before_anything_is_provisioned():
    fakes = Fakes()
    outcome = reconcile(tenant(name="a" * 39), CONFIG, fakes.services())
    assert outcome.permanent and outcome.status["phase"] == "Failed" and "too long" in outcome.error
    assert conditions(outcome)["SchemaReady"] == ("False", "InvalidSpec")
    assert fakes.provisioned == [] and fakes.applied == []


def test_the_drift_pass_provisions_only_when_something_moved():
    ready = reconcile(tenant(), CONFIG, Fakes().services())
    settled = Fakes(still_settled=True)
    reconcile(tenant(status=ready.status), CONFIG, settled.services(), recheck=True)
    assert settled.provisioned == [] and len(settled.applied) == 2  # children are applied again (drift)
    moved = Fakes(still_settled=False)
    reconcile(tenant(status=ready.status), CONFIG, moved.services(), recheck=True)
    assert len(moved.provisioned) == 1


def test_a_spec_change_provisions_fully_even_when_settled():
    ready = reconcile(tenant(), CONFIG, Fakes().services())
    changed = Fakes(still_settled=True)
    newer = Resource(namespace="ns", name="acme", uid="uid-1", generation=3, spec={"plan": "pro"},
                     status=ready.status)
    reconcile(newer, CONFIG, changed.services(), recheck=True)
    assert len(changed.provisioned) == 1, "SchemaReady was for generation 2"


def test_status_reports_where_the_tenant_is_served_and_keeps_the_migrated_condition():
    migrations = {"state": "Failed", "pending": 1, "lastError": "column exists", "version": "a", "target": "b",
                  "latest": "x"}
    outcome = reconcile(tenant(status={"migrations": migrations}), CONFIG, Fakes().services())
    assert outcome.status["domains"] == ["acme.example.com"] and outcome.status["schema"] == "t_acme"
    assert outcome.status["url"] == "https://acme.example.com/"
    assert conditions(outcome)["Migrated"] == ("False", "MigrationFailed")
    assert outcome.status["phase"] == "Ready", "a tenant behind is still served"


def test_admission_refuses_what_cannot_work_and_lets_in_what_it_cannot_check():
    from tenantry_operator.admission import problems

    asked = []

    def claims(wanted):
        asked.append(wanted)
        return [f"domain {wanted.domains[0]!r} is already used by tenant ns/other: choose another domain"]

    assert problems("ns", "a" * 39, {}, CONFIG, claims)[0].startswith("Tenant name")
    assert asked == [], "a name that cannot work needs no database"
    assert problems("ns", "acme", {}, CONFIG, claims) == [
        "domain 'acme.example.com' is already used by tenant ns/other: choose another domain"]

    def database_down(wanted):
        raise OperationalError("connection refused")

    assert problems("ns", "acme", {}, CONFIG, database_down) is None  # unchecked: the reconcile loop judges
