"""The conflict rules shared by the admission webhook and the provisioning service, on plain data."""
from dataclasses import replace

import pytest

from tenantry.tenancy.claims import Conflict, conflicts, domain_taken
from tenantry.tenancy.services import TenantSpec

SPEC = TenantSpec(resource="ns/acme", schema="t_acme", display_name="Acme",
                  domains=("acme.example.com", "www.acme.example.com"), plan="pro")
PLANS = ["free", "pro"]
NEW = {"domain_owners": {}, "schema_owner": None, "current_schema": None, "offered_plans": PLANS}

DOMAIN_TAKEN = Conflict("DomainConflict", "domain 'acme.example.com' is already used by tenant ns/other: "
                                          "choose another domain")
WWW_TAKEN = Conflict("DomainConflict", "domain 'www.acme.example.com' is already used by tenant ns/third: "
                                       "choose another domain")
SCHEMA_TAKEN = Conflict("SchemaConflict", "schema 't_acme' is already used by tenant ns/other: choose another schema")
SCHEMA_KEPT = Conflict("SchemaImmutable", "schema 't_old' of this tenant is immutable: keep it, or create a new "
                                          "Tenant to move data to schema 't_acme'")
UNKNOWN_PLAN = Conflict("InvalidSpec", "unknown plan 'gold': choose one of free, pro")

CASES = {
    "a new tenant with nothing taken": ({}, {}, []),
    "a tenant applying what it already has": (
        {}, {"domain_owners": {"acme.example.com": "ns/acme", "www.acme.example.com": "ns/acme"},
             "schema_owner": "ns/acme", "current_schema": "t_acme"}, []),
    "a domain of another tenant": ({}, {"domain_owners": {"acme.example.com": "ns/other"}}, [DOMAIN_TAKEN]),
    "each domain of another tenant, in the spec's order": (
        {}, {"domain_owners": {"www.acme.example.com": "ns/third", "acme.example.com": "ns/other"}},
        [DOMAIN_TAKEN, WWW_TAKEN]),
    "a domain of another tenant beside one of its own": (
        {}, {"domain_owners": {"acme.example.com": "ns/acme", "www.acme.example.com": "ns/third"}}, [WWW_TAKEN]),
    "the schema of another tenant": ({}, {"schema_owner": "ns/other"}, [SCHEMA_TAKEN]),
    "another schema than the tenant's": ({}, {"current_schema": "t_old"}, [SCHEMA_KEPT]),
    "another schema, and another tenant's at that": (
        {}, {"current_schema": "t_old", "schema_owner": "ns/other"}, [SCHEMA_KEPT]),
    "an unknown plan": ({"plan": "gold"}, {}, [UNKNOWN_PLAN]),
    "no plan: billing left to each member": ({"plan": None}, {"offered_plans": []}, []),
    "everything at once, in the service's order": (
        {"plan": "gold"}, {"domain_owners": {"www.acme.example.com": "ns/third"}, "schema_owner": "ns/other"},
        [UNKNOWN_PLAN, SCHEMA_TAKEN, WWW_TAKEN]),
}


@pytest.mark.parametrize(("spec_changes", "facts", "expected"), CASES.values(), ids=CASES.keys())
def test_conflicts(spec_changes, facts, expected):
    assert conflicts(replace(SPEC, **spec_changes), **{**NEW, **facts}) == expected


def test_a_domain_claimed_in_a_race_reads_as_one_found_before():
    assert domain_taken("acme.example.com", "ns/other") == DOMAIN_TAKEN
