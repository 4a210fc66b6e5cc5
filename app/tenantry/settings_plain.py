"""Plain Django serving the same pages without tenancy: a baseline for `make bench`, never deploy it.

Same app, templates, middleware, cache, sessions, PgBouncer and gunicorn settings, but Django's own
PostgreSQL backend in autocommit (no per-request transaction, no search_path statements) and a fixed
request.tenant instead of the tenant router. The tenant's tables are found the way a single-schema
app finds its own: the database role's search_path in that database is set to the tenant's schema
(`ALTER ROLE ... IN DATABASE ... SET search_path`), so no request ever sets it. The tenant comes from
TENANTRY_PLAIN_TENANT_ID, _SCHEMA and _NAME. django-tenants stays installed (its app check wants its
router listed), but nothing of it runs per request.
"""
from tenantry import env
from tenantry.settings import *  # noqa: F403
from tenantry.settings import DATABASES, MIDDLEWARE

DATABASES["default"]["ENGINE"] = "django.db.backends.postgresql"
MIDDLEWARE = ["tenantry.benchmarks.middleware.FixedTenantMiddleware" if m.endswith("TenantRoutingMiddleware")
              else m for m in MIDDLEWARE]
ROOT_URLCONF = "tenantry.benchmarks.urls"
TENANTRY_PLAIN_TENANT = {
    "id": env.integer("TENANTRY_PLAIN_TENANT_ID", 0),
    "schema_name": env.string("TENANTRY_PLAIN_TENANT_SCHEMA", "public"),
    "display_name": env.string("TENANTRY_PLAIN_TENANT_NAME", "Plain"),
}
