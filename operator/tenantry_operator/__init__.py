"""The Tenant operator: turns Tenant resources into schemas, rows and status conditions."""
GROUP = "tenantry.dev"
VERSION = "v1alpha1"
PLURAL = "tenants"
