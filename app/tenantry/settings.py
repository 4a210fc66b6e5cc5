"""Django settings for Tenantry.

Layering: code defaults here, then the environment (read only through `tenantry.env`), then values
computed from both. Secrets never live in this file; the local platform and the Helm chart supply
them as environment variables.
"""
from pathlib import Path

import dj_database_url

from tenantry import env

BASE_DIR = Path(__file__).resolve().parent

DEBUG = env.boolean("DJANGO_DEBUG", False)
SECRET_KEY = env.string("DJANGO_SECRET_KEY")
BASE_DOMAIN = env.string("TENANTRY_BASE_DOMAIN", "localhost")
# Hosts are checked by the tenant router against the domain table; Django's own check would need
# every tenant's domain listed here, so it only guards against malformed Host headers.
ALLOWED_HOSTS = env.csv("DJANGO_ALLOWED_HOSTS", "*")
PUBLIC_SCHEMA_NAME = "public"
# Schemas the router never serves and the operator never creates for a tenant.
TENANTRY_TEMPLATE_SCHEMA = env.string("TENANTRY_TEMPLATE_SCHEMA", "tenant_template")

SHARED_APPS = [
    "django_tenants",
    "tenantry.tenancy",
    "tenantry.core",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
]
TENANT_APPS = [
    "django.contrib.contenttypes",
    "tenantry.projects",
]
INSTALLED_APPS = SHARED_APPS + [app for app in TENANT_APPS if app not in SHARED_APPS]

TENANT_MODEL = "tenancy.Tenant"
TENANT_DOMAIN_MODEL = "tenancy.Domain"
DATABASE_ROUTERS = ["django_tenants.routers.TenantSyncRouter"]

MIDDLEWARE = [
    "tenantry.core.middleware.HealthCheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "tenantry.tenancy.middleware.TenantRoutingMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "tenantry.urls"
WSGI_APPLICATION = "tenantry.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------------------
# DATABASE_URL points at PgBouncer (transaction pooling) for the web pods and at PostgreSQL itself
# for the operator and migrations. TENANTRY_DB_POOLED tells the backend which one it has: behind a
# transaction pooler a tenant's search_path may only ever be set with SET LOCAL inside a transaction.
DATABASES = {
    "default": {
        **dj_database_url.parse(env.string("DATABASE_URL"), conn_max_age=env.integer("DB_CONN_MAX_AGE", 60)),
        "ENGINE": "tenantry.db",
        # Named (server-side) cursors outlive the transaction-scoped server connection.
        "DISABLE_SERVER_SIDE_CURSORS": True,
        "OPTIONS": {
            # PgBouncer 1.18 in transaction mode cannot route prepared statements.
            "prepare_threshold": None,
            "connect_timeout": 5,
        },
        "POOLED": env.boolean("TENANTRY_DB_POOLED", True),
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache and sessions -------------------------------------------------------------------------
# A prefix lets several deployments (or test runs) share one Redis without seeing each other.
CACHE_PREFIX = env.string("TENANTRY_CACHE_PREFIX", "tenantry")
CACHES = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": env.string("REDIS_URL"),
        "KEY_FUNCTION": "tenantry.tenancy.cache.tenant_scoped_key",
        "KEY_PREFIX": CACHE_PREFIX,
        "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 2, "SOCKET_TIMEOUT": 2},
    },
    # Platform-wide entries (host -> tenant) that must not be scoped to the active tenant.
    "platform": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": env.string("REDIS_URL"),
        "KEY_PREFIX": f"{CACHE_PREFIX}:platform",
        "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 2, "SOCKET_TIMEOUT": 2},
    },
}
SESSION_ENGINE = "django.contrib.sessions.backends.cache"

# --- Static files and the rest ------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(env.string("DJANGO_STATIC_ROOT", str(BASE_DIR.parent.parent / ".local" / "static")))
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.string("LOG_LEVEL", "INFO")},
}
