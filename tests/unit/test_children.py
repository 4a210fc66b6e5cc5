"""The Tenant's children, built without a cluster."""
import pytest

from tenantry_operator.children import backup_command, backup_cronjob, ingress
from tenantry_operator.config import OperatorConfig

CONFIG = OperatorConfig(ingress_class="nginx", tls_secret="wildcard-tls",
                        ingress_annotations={"nginx.ingress.kubernetes.io/proxy-body-size": "1m"},
                        web_service="tenantry-web", web_service_port=8000, image="registry.example/tenantry:1.0",
                        backup_dir="/backups", backup_pvc="tenantry-backups")


def test_the_ingress_routes_every_domain_to_the_web_service_and_is_owned():
    obj = ingress("acme", "team", "uid-1", ["acme.example.com", "www.acme.io"], CONFIG)
    assert obj["metadata"]["name"] == "tenant-acme"
    assert obj["metadata"]["ownerReferences"] == [{"apiVersion": "tenantry.dev/v1alpha1", "kind": "Tenant",
                                                   "name": "acme", "uid": "uid-1", "controller": True,
                                                   "blockOwnerDeletion": True}]
    assert [r["host"] for r in obj["spec"]["rules"]] == ["acme.example.com", "www.acme.io"]
    assert obj["spec"]["rules"][0]["http"]["paths"][0]["backend"] == \
        {"service": {"name": "tenantry-web", "port": {"number": 8000}}}
    assert obj["spec"]["ingressClassName"] == "nginx"
    assert obj["spec"]["tls"] == [{"hosts": ["acme.example.com", "www.acme.io"], "secretName": "wildcard-tls"}]
    assert obj["metadata"]["annotations"] == CONFIG.ingress_annotations


def test_no_class_or_tls_unless_configured():
    obj = ingress("acme", "team", "uid-1", ["acme.example.com"], OperatorConfig())
    assert "ingressClassName" not in obj["spec"] and "tls" not in obj["spec"]
    assert "annotations" not in obj["metadata"]


@pytest.mark.parametrize("enabled,suspended,expected", [(True, False, False), (False, False, True), (True, True, True)])
def test_the_backup_cronjob_is_suspended_with_the_tenant_or_when_disabled(enabled, suspended, expected):
    obj = backup_cronjob("acme", "team", "uid-1", "t_acme", {"enabled": enabled, "schedule": "15 2 * * *",
                                                              "retention": 14}, suspended, CONFIG)
    spec = obj["spec"]
    assert spec["suspend"] is expected
    assert spec["schedule"] == "15 2 * * *" and spec["concurrencyPolicy"] == "Forbid"
    container = spec["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == backup_command("t_acme", "/backups", 14)
    assert container["image"] == "registry.example/tenantry:1.0"
    assert container["securityContext"]["runAsNonRoot"] is True
    assert spec["jobTemplate"]["spec"]["template"]["spec"]["volumes"][0]["persistentVolumeClaim"] == \
        {"claimName": "tenantry-backups"}


def test_the_backup_command_is_the_apps_management_command():
    assert backup_command("t_acme", "/b", 3) == ["python", "-m", "django", "backup_tenant", "--schema=t_acme",
                                                  "--dir=/b", "--keep=3"]


@pytest.mark.parametrize("env,message", [
    ({"TENANTRY_INGRESS_ANNOTATIONS": "{not json"}, "not JSON"),
    ({"TENANTRY_INGRESS_ANNOTATIONS": '{"a": 1}'}, "object of strings"),
    ({"TENANTRY_WEB_SERVICE_PORT": "70000"}, "TENANTRY_WEB_SERVICE_PORT"),
    ({"TENANTRY_PUBLIC_SCHEME": "ftp"}, "http or https"),
])
def test_bad_configuration_stops_the_operator_with_the_variable_named(env, message):
    with pytest.raises(SystemExit, match=message):
        OperatorConfig.from_env(env)
