import pytest

from tenantry.tenancy.naming import InvalidName
from tenantry_operator.config import OperatorConfig
from tenantry_operator.spec import tenant_spec


def test_defaults_follow_the_tenant_api():
    spec = tenant_spec("team", "acme", {}, "example.com")
    assert spec.resource == "team/acme"
    assert spec.schema == "t_acme"
    assert spec.domains == ("acme.example.com",)
    assert spec.display_name == "acme" and spec.plan == "free" and not spec.suspended
    assert spec.backups_enabled
    assert not tenant_spec("team", "acme", {"backup": {"enabled": False}}, "example.com").backups_enabled


def test_explicit_fields_win_and_domains_are_lower_cased():
    spec = tenant_spec("team", "acme", {"schema": "acme_corp", "domains": ["Shop.Acme.com", "acme.io"],
                                         "displayName": "Acme", "plan": "pro", "suspended": True,
                                         "owner": {"email": "boss@acme.io"}}, "example.com")
    assert (spec.schema, spec.domains, spec.display_name, spec.plan, spec.suspended, spec.owner_email) == \
        ("acme_corp", ("shop.acme.com", "acme.io"), "Acme", "pro", True, "boss@acme.io")


@pytest.mark.parametrize("bad", [{"schema": "pg_catalog"}, {"schema": "public"}, {"domains": ["not a host"]},
                                 {"domains": ["a.example.com", "a.example.com"]}])
def test_specs_that_can_never_work_are_rejected_with_a_reason(bad):
    with pytest.raises(InvalidName):
        tenant_spec("team", "acme", bad, "example.com")


def test_operator_config_reads_and_checks_the_environment():
    config = OperatorConfig.from_env({"TENANTRY_BASE_DOMAIN": "saas.io", "TENANTRY_PUBLIC_SCHEME": "http",
                                      "TENANTRY_PUBLIC_PORT": "8000"})
    assert config.url_for("acme.saas.io") == "http://acme.saas.io:8000/"
    assert OperatorConfig.from_env({}).url_for("a.localhost") == "https://a.localhost/"
    with pytest.raises(SystemExit, match="TENANTRY_PUBLIC_PORT"):
        OperatorConfig.from_env({"TENANTRY_PUBLIC_PORT": "eighty"})
