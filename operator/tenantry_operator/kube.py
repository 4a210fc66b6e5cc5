"""Server-side apply of the Tenant's children through the kubernetes client.

Server-side apply makes every step idempotent and repairs drift in one call: whatever a person
changed in fields we own is put back, fields we do not own are left alone.
"""
import kubernetes
from kubernetes.dynamic import DynamicClient

FIELD_MANAGER = "tenantry-operator"


def load_configuration() -> None:
    try:
        kubernetes.config.load_incluster_config()
    except kubernetes.config.ConfigException:
        kubernetes.config.load_kube_config()


class Applier:
    def __init__(self) -> None:
        self.client = DynamicClient(kubernetes.client.ApiClient())

    def apply(self, obj: dict) -> dict:
        resource = self.client.resources.get(api_version=obj["apiVersion"], kind=obj["kind"])
        return self.client.server_side_apply(resource, body=obj, namespace=obj["metadata"]["namespace"],
                                             field_manager=FIELD_MANAGER, force_conflicts=True).to_dict()
