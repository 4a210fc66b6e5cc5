import pytest

from tenantry.tenancy.naming import InvalidName, schema_for, validate_domain, validate_schema


@pytest.mark.parametrize("name", ["t_acme", "a", "acme_2024", "x" * 63])
def test_accepts_plain_schema_names(name):
    assert validate_schema(name) == name


@pytest.mark.parametrize("name", [
    "public", "information_schema", "pg_catalog", "pg_toast", "pg_anything", "tenant_template", "tenantry",
])
def test_rejects_reserved_schemas(name):
    with pytest.raises(InvalidName, match="reserved"):
        validate_schema(name)


@pytest.mark.parametrize("name", [
    "", "Acme", "1acme", "acme-corp", 'a"; DROP SCHEMA public CASCADE; --', "a b", "x" * 64, "ácme", "acme\n",
])
def test_rejects_hostile_or_malformed_schemas(name):
    with pytest.raises(InvalidName, match="not allowed"):
        validate_schema(name)


def test_schema_derived_from_a_kubernetes_name_is_valid():
    assert validate_schema(schema_for("my-shop-2")) == "t_my_shop_2"


@pytest.mark.parametrize("domain", ["acme.localhost", "a.b.example.com", "x-1.example.io"])
def test_accepts_host_names(domain):
    assert validate_domain(domain) == domain


@pytest.mark.parametrize("domain", ["localhost", "Acme.example.com", "-a.example.com", "a..b", "a.example.com:80",
                                    "a_b.example.com", "evil.com/path", "a.example.com\r\nX: y", "a.example.com\n"])
def test_rejects_malformed_domains(domain):
    with pytest.raises(InvalidName):
        validate_domain(domain)
