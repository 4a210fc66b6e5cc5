"""The admission webhook's server, announced to the API server the way it can reach it.

Kopf announces its server by URL, `https://<host>:<port>`. In a cluster the host is the operator
Service's DNS name, `<service>.<namespace>.svc`, and an API server that is not itself a pod of the
cluster network (kubeadm's static pods on the host network, this project's node) cannot resolve it:
every admission call fails, and with failurePolicy Ignore every Tenant went through unchecked (found
when the operator first ran in a pod). A Service reference is what the API server resolves itself,
through the Service's endpoints, so that name is announced as one.
"""
import re
from collections.abc import AsyncIterator

import kopf

SERVICE_HOST = re.compile(r"(?P<name>[a-z0-9]([-a-z0-9]*[a-z0-9])?)\.(?P<namespace>[a-z0-9]([-a-z0-9]*[a-z0-9])?)\.svc")


def service_reference(host: str | None, port: int, path: str = "") -> dict | None:
    """clientConfig.service for a `<name>.<namespace>.svc` host; None for any other host."""
    match = SERVICE_HOST.fullmatch(host or "")
    if match is None:
        return None
    return {"namespace": match["namespace"], "name": match["name"], "port": port, "path": path}


class WebhookServer(kopf.WebhookServer):
    """Kopf's server, announced by Service reference when its host is a Service's name."""

    async def __call__(self, fn) -> AsyncIterator[dict]:
        async for client_config in super().__call__(fn):
            service = service_reference(self.host, self.port, self.path or "")
            if service is None:
                yield client_config
            else:
                yield {"caBundle": client_config.get("caBundle"), "service": service}
