"""Reading a Tenant resource into the provisioning service's TenantSpec (pure, no cluster)."""
from tenantry.tenancy import naming
from tenantry.tenancy.services import TenantSpec
from tenantry_operator.children import MAX_TENANT_NAME


def tenant_spec(namespace: str, name: str, spec: dict, base_domain: str) -> TenantSpec:
    """Apply the defaults of the Tenant API; raises naming.InvalidName for what can never work."""
    if len(name) > MAX_TENANT_NAME:
        raise naming.InvalidName(f"Tenant name {name!r} is too long: use at most {MAX_TENANT_NAME} characters "
                                 f"(its backup CronJob is named tenant-<name>-backup)")
    domains = tuple(spec.get("domains") or (f"{name}.{base_domain}",))
    return TenantSpec(
        resource=f"{namespace}/{name}",
        schema=spec.get("schema") or naming.schema_for(name),
        display_name=spec.get("displayName") or name,
        domains=tuple(domain.lower() for domain in domains),
        plan=spec.get("plan", "free"),
        suspended=bool(spec.get("suspended", False)),
        owner_email=(spec.get("owner") or {}).get("email"),
        backups_enabled=bool((spec.get("backup") or {}).get("enabled", True)),
        canary=bool((spec.get("migrations") or {}).get("canary", False)),
    ).validated()
