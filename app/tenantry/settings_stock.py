"""Stock django-tenants request handling, as a baseline for tests and benchmarks — never deploy it.

Same app, same data, but django-tenants' own backend (a session-level `SET search_path` before each
query) and its TenantMainMiddleware (a domain query per request, no transaction per request). Behind
PgBouncer in transaction mode this is the configuration that mixes tenants up; the isolation test
runs against it to prove that it detects exactly that, and the benchmarks compare against it.
"""
from tenantry.settings import *  # noqa: F403
from tenantry.settings import DATABASES, MIDDLEWARE

DATABASES["default"]["ENGINE"] = "django_tenants.postgresql_backend"
MIDDLEWARE = ["django_tenants.middleware.main.TenantMainMiddleware" if m.endswith("TenantRoutingMiddleware") else m
              for m in MIDDLEWARE]
PUBLIC_SCHEMA_URLCONF = "tenantry.urls_public"
