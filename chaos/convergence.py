"""Did every Tenant converge to Ready, with one tenant row and one schema each?"""
import json
from collections.abc import Callable
from dataclasses import dataclass

import psycopg

from localplatform import stack

Kubectl = Callable[..., str]  # kubectl(*args) -> stdout, for `make up`'s API server or the node's


def ready(tenant: dict) -> bool:
    conditions = tenant.get("status", {}).get("conditions", [])
    return any(c["type"] == "Ready" and c["status"] == "True"
               and c.get("observedGeneration") == tenant["metadata"]["generation"] for c in conditions)


def tenants(namespace: str, kubectl: Kubectl = stack.kubectl) -> list[dict]:
    return json.loads(kubectl("-n", namespace, "get", "tenants", "-o", "json"))["items"]


def wait_ready(namespace: str, names: list[str], timeout: int = 180, kubectl: Kubectl = stack.kubectl) -> None:
    kubectl("-n", namespace, "wait", "--for=condition=Ready", f"--timeout={timeout}s",
            *[f"tenant/{name}" for name in names])


def duplicate_tenants(database_url: str, namespace: str, items: list[dict]) -> list[str]:
    """Tenants with other than exactly one public row, one schema and one active subscription."""
    wrong = []
    with psycopg.connect(database_url, autocommit=True) as conn:
        for item in items:
            name = item["metadata"]["name"]
            schema = item.get("status", {}).get("schema", "")
            counts = conn.execute(
                """SELECT (SELECT count(*) FROM tenancy_tenant WHERE resource = %(resource)s),
                          (SELECT count(*) FROM information_schema.schemata WHERE schema_name = %(schema)s),
                          (SELECT count(*) FROM billing_subscription s JOIN tenancy_tenant t ON t.id = s.tenant_id
                            WHERE t.resource = %(resource)s AND s.status = 'active')""",
                {"resource": f"{namespace}/{name}", "schema": schema}).fetchone()
            if counts[:2] != (1, 1) or counts[2] > 1:
                wrong.append(f"{name}: tenant rows, schemas, active subscriptions = {counts}")
    return wrong



@dataclass(frozen=True)
class Convergence:
    ready: int
    total: int
    duplicated: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return self.ready == self.total and not self.duplicated

    def __str__(self) -> str:
        text = f"{self.ready}/{self.total} Ready"
        return f"{text}; DUPLICATED: {'; '.join(self.duplicated)}" if self.duplicated else text


def converged(namespace: str, database_url: str, kubectl: Kubectl = stack.kubectl) -> Convergence:
    items = tenants(namespace, kubectl)
    return Convergence(sum(map(ready, items)), len(items),
                       tuple(duplicate_tenants(database_url, namespace, items)))
