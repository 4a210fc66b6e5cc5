"""Cache keys scoped to the tenant whose schema is active, so tenants never read each other's
entries; sessions live in the cache, so a session cookie from one tenant is unknown at another."""
from django.db import connection


def tenant_scoped_key(key: str, key_prefix: str, version: int) -> str:
    schema = getattr(connection, "schema_name", None) or "public"
    return f"{schema}:{key_prefix}:{version}:{key}"
