"""Tenant resources as data: manifests for `kubectl apply -f -` and readings of their status.

Manifests are dumped with a YAML library, never formatted by hand, so a hostile value in a test
reaches the API server as the value it is rather than as YAML syntax.
"""
import yaml

API_VERSION = "tenantry.dev/v1alpha1"


def tenant(name: str, namespace: str | None = None, **spec) -> dict:
    """One Tenant; `spec` holds the API's own field names (displayName, deletionPolicy, ...)."""
    metadata = {"name": name, **({"namespace": namespace} if namespace else {})}
    return {"apiVersion": API_VERSION, "kind": "Tenant", "metadata": metadata, "spec": spec}


def manifest(*tenants: dict) -> str:
    """One YAML stream of `tenants` for a single `kubectl apply -f -`."""
    if not tenants:
        raise ValueError("a manifest needs at least one tenant")
    return yaml.safe_dump_all(tenants, sort_keys=False)


def condition(resource: dict, type_: str) -> dict:
    """The condition of that type in the resource's status, or {}."""
    conditions = (resource.get("status") or {}).get("conditions") or []
    return next((c for c in conditions if c.get("type") == type_), {})


def ready(resource: dict) -> dict | None:
    """The Ready condition when it is True for the resource's current generation, else None: a Ready
    left from an earlier generation says nothing about the spec just applied."""
    ready_ = condition(resource, "Ready")
    if ready_.get("status") == "True" and ready_.get("observedGeneration") == resource["metadata"].get("generation"):
        return ready_
    return None


def names(prefix: str, start: int, count: int) -> list[str]:
    """["bench-0001", ...]: DNS-1123 names, so schemas t_bench_0001 and hosts bench-0001.<base domain>."""
    return [f"{prefix}-{number:04d}" for number in range(start, start + count)]
