"""The Tenant CRD reads like reference documentation in `kubectl explain tenant --recursive`: every
field says what it does, and one with a default or a fixed set of values says which."""
import yaml

from localplatform import config

CRD = config.ROOT / "charts" / "tenantry" / "crds" / "tenants.tenantry.dev.yaml"


def fields(schema: dict, path: str = "tenant"):
    """(path, schema) of every field under `schema`, array items included."""
    for name, child in (schema.get("properties") or {}).items():
        yield f"{path}.{name}", child
        yield from fields(child, f"{path}.{name}")
        if "items" in child:
            yield f"{path}.{name}[]", child["items"]
            yield from fields(child["items"], f"{path}.{name}[]")


def schema() -> dict:
    return yaml.safe_load(CRD.read_text())["spec"]["versions"][0]["schema"]["openAPIV3Schema"]


def test_every_field_of_the_tenant_api_is_described():
    missing = [path for path, field in fields(schema()) if path != "tenant.metadata" and not field.get("description")]
    assert not missing, f"fields without a description: {missing}"
    assert schema()["description"]


def test_a_default_or_an_enum_is_named_in_the_description():
    unsaid = []
    for path, field in fields(schema()):
        description = " ".join(field.get("description", "").split())
        said = [f"{words} {field.get('default')}".lower() for words in ("default", "defaults to")]
        if "default" in field and not any(words in description.lower() for words in said):
            unsaid.append(f"{path}: default {field['default']!r}")
        unsaid += [f"{path}: value {value}" for value in field.get("enum", []) if str(value) not in description]
    assert not unsaid, f"descriptions that do not say a default or a value: {unsaid}"


def test_kubectl_get_shows_whether_a_tenant_is_behind():
    version = yaml.safe_load(CRD.read_text())["spec"]["versions"][0]
    columns = {c["name"]: c for c in version["additionalPrinterColumns"]}
    assert columns["Migrated"]["jsonPath"] == ".status.migrations.state"
    assert columns["Pending"].get("priority") == 1  # -o wide


def crd_default(path: str):
    field = schema()
    for name in path.split("."):
        field = field["properties"][name]
    return field["default"]


def test_the_operator_applies_the_defaults_the_crd_documents():
    """An object the API server did not default (created before a default existed) gets the same
    values from the operator: the Python defaults may not drift from the CRD's."""
    from tenantry_operator import children
    from tenantry_operator.config import OperatorConfig
    from tenantry_operator.spec import tenant_spec

    wanted = tenant_spec("ns", "acme", {}, "example.com")
    assert wanted.plan == crd_default("spec.plan")
    assert wanted.suspended == crd_default("spec.suspended")
    assert wanted.backups_enabled == crd_default("spec.backup.enabled")
    assert wanted.canary == crd_default("spec.migrations.canary")
    cronjob = children.backup_cronjob("acme", "ns", "uid", "t_acme", {}, False, OperatorConfig())
    assert cronjob["spec"]["schedule"] == crd_default("spec.backup.schedule")
    command = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["command"]
    assert f"--keep={crd_default('spec.backup.retention')}" in command


def test_the_phases_are_the_crds():
    from tenantry_operator.phases import Phase

    assert schema()["properties"]["status"]["properties"]["phase"]["enum"] == [phase.value for phase in Phase]
