"""The provisioning service on a real PostgreSQL: idempotent, and never touching another tenant."""
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tenantry.tenancy.models import Domain, Tenant
from tenantry.tenancy.routing import tenant_for_host
from tenantry.tenancy.services import (
    ProvisioningConflict,
    TenantSpec,
    is_settled,
    provision_tenant,
    release_tenant,
)
from testkit.net import direct

pytestmark = pytest.mark.integration


def spec(name: str, **overrides) -> TenantSpec:
    values = dict(resource=f"ns/{name}", schema=f"t_{name}", display_name=name.title(),
                  domains=(f"{name}.test.localhost",))
    return TenantSpec(**{**values, **overrides})


def fresh() -> str:
    return "p" + uuid.uuid4().hex[:8]


def schemas(database: str) -> set[str]:
    with direct(database) as conn:
        return {row[0] for row in conn.execute("SELECT schema_name FROM information_schema.schemata")}


def tables(database: str, schema: str) -> set[str]:
    with direct(database) as conn:
        return {row[0] for row in conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", [schema])}


def test_provisioning_creates_the_schema_and_rows_and_is_idempotent(database):
    name = fresh()
    tenant = provision_tenant(spec(name))
    assert f"t_{name}" in schemas(database)
    assert "projects_project" in tables(database, f"t_{name}")
    assert tenant.state == Tenant.State.ACTIVE

    again = provision_tenant(spec(name))
    assert again.pk == tenant.pk
    assert list(Domain.objects.filter(tenant=tenant).values_list("domain", "is_primary")) == \
        [(f"{name}.test.localhost", True)]


def test_a_domain_owned_by_another_tenant_is_refused_and_nothing_changes(database):
    owner, intruder = fresh(), fresh()
    provision_tenant(spec(owner))
    with pytest.raises(ProvisioningConflict, match=f"{owner}.test.localhost.*ns/{owner}"):
        provision_tenant(spec(intruder, domains=(f"{owner}.test.localhost",)))
    assert not Tenant.objects.filter(resource=f"ns/{intruder}").exists()
    assert f"t_{intruder}" not in schemas(database)
    assert Domain.objects.get(domain=f"{owner}.test.localhost").tenant.resource == f"ns/{owner}"


def test_a_schema_owned_by_another_tenant_is_refused(database):
    owner, intruder = fresh(), fresh()
    provision_tenant(spec(owner))
    with pytest.raises(ProvisioningConflict,
                       match=f"schema 't_{owner}' is already used by tenant ns/{owner}: choose another schema"):
        provision_tenant(spec(intruder, schema=f"t_{owner}"))


def test_the_schema_of_a_tenant_cannot_change(database):
    name = fresh()
    provision_tenant(spec(name))
    with pytest.raises(ProvisioningConflict, match="immutable"):
        provision_tenant(spec(name, schema=f"t_{name}_moved"))


def test_domain_changes_are_applied_and_the_host_cache_follows(database):
    name = fresh()
    provision_tenant(spec(name))
    assert tenant_for_host(f"{name}.test.localhost") is not None  # now cached
    provision_tenant(spec(name, domains=(f"www.{name}.test.localhost",)))
    assert tenant_for_host(f"{name}.test.localhost") is None
    assert tenant_for_host(f"www.{name}.test.localhost").schema_name == f"t_{name}"


def test_release_keeps_or_drops_the_schema_by_policy(database):
    kept, dropped = fresh(), fresh()
    provision_tenant(spec(kept))
    provision_tenant(spec(dropped))
    release_tenant(f"ns/{kept}", drop_schema=False)
    release_tenant(f"ns/{dropped}", drop_schema=True)
    assert f"t_{kept}" in schemas(database) and f"t_{dropped}" not in schemas(database)
    assert Tenant.objects.get(resource=f"ns/{kept}").state == Tenant.State.RETAINED
    assert not Tenant.objects.filter(resource=f"ns/{dropped}").exists()
    assert tenant_for_host(f"{kept}.test.localhost") is None


def test_a_warm_host_lookup_makes_no_query_and_a_state_change_is_seen_at_once(database):
    name = fresh()
    provision_tenant(spec(name))
    host = f"{name}.test.localhost"
    assert tenant_for_host(host).state == Tenant.State.ACTIVE
    with CaptureQueriesContext(connection) as queries:
        assert tenant_for_host(host).schema_name == f"t_{name}"
    assert len(queries) == 0

    provision_tenant(spec(name, suspended=True))
    assert tenant_for_host(host).suspended


def test_the_owner_email_becomes_the_first_owner_once(database):
    from tenantry.accounts.models import Membership

    name = fresh()
    tenant = provision_tenant(spec(name, owner_email=f"Boss@{name}.example.com"))
    provision_tenant(spec(name, owner_email=f"boss@{name}.example.com"))
    owners = Membership.objects.filter(tenant=tenant, role=Membership.Role.OWNER)
    assert [m.user.email for m in owners] == [f"boss@{name}.example.com"]


def test_a_served_tenant_whose_schema_vanished_is_reported_not_recreated_empty(database):
    name = fresh()
    provision_tenant(spec(name))
    with direct(database) as conn:
        conn.execute(f'DROP SCHEMA "t_{name}" CASCADE')
    with pytest.raises(ProvisioningConflict, match="missing: restore it from a backup") as err:
        provision_tenant(spec(name))
    assert err.value.reason == "SchemaMissing"
    assert f"t_{name}" not in schemas(database)


def test_a_retained_tenant_applied_again_gets_its_data_back(database):
    name = fresh()
    provision_tenant(spec(name))
    release_tenant(f"ns/{name}", drop_schema=False)
    again = provision_tenant(spec(name))
    assert again.state == Tenant.State.ACTIVE
    assert tenant_for_host(f"{name}.test.localhost").schema_name == f"t_{name}"


def test_provisioning_an_unchanged_tenant_keeps_host_caches_warm(database):
    """The drift timer provisions every tenant again and again: that must not invalidate lookups."""
    name = fresh()
    provision_tenant(spec(name))
    host = f"{name}.test.localhost"
    tenant_for_host(host)
    provision_tenant(spec(name))
    with CaptureQueriesContext(connection) as queries:
        tenant_for_host(host)
    assert len(queries) == 0
    provision_tenant(spec(name, display_name="Renamed"))
    assert tenant_for_host(host).display_name == "Renamed"


def test_is_settled_notices_a_missing_schema_or_domain_row(database):
    name = fresh()
    provision_tenant(spec(name))
    assert is_settled(spec(name))
    assert not is_settled(spec(name, display_name="Renamed"))
    assert not is_settled(spec(name, backups_enabled=False))
    assert provision_tenant(spec(name, backups_enabled=False)).backups_enabled is False
    assert is_settled(spec(name, backups_enabled=False))
    provision_tenant(spec(name))
    Domain.objects.filter(domain=f"{name}.test.localhost").delete()
    assert not is_settled(spec(name))
    provision_tenant(spec(name))
    with direct(database) as conn:
        conn.execute(f'DROP SCHEMA "t_{name}" CASCADE')
    assert not is_settled(spec(name))
