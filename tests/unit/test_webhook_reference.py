"""The webhook is announced by Service reference when its host names a Service, by URL otherwise."""
from tenantry_operator.webhook import service_reference


def test_a_service_host_becomes_a_service_reference():
    assert service_reference("tenantry-operator.tenantry-system.svc", 8443) == {
        "namespace": "tenantry-system", "name": "tenantry-operator", "port": 8443, "path": ""}


def test_other_hosts_stay_urls():
    for host in ("127.0.0.1", "localhost", "op.example.com", "a.b.svc.cluster.local", None, "x.svc"):
        assert service_reference(host, 8443) is None
