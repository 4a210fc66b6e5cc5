"""Django settings for Tenantry.

Layering: code defaults here, then the environment (read only through `tenantry.env`), then values
computed from both. Secrets never live in this file; the local platform and the Helm chart supply
them as environment variables.
"""
from pathlib import Path

import dj_database_url

from tenantry import env, redis_sentinel
from tenantry.observability.log_format import JSON_FORMATTER

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

# Public schema: the tenant catalogue, people, billing and platform settings.
SHARED_APPS = [
    # Before django_tenants, whose admin templates assume every request has a tenant.
    "django.contrib.admin",
    "django_tenants",
    "tenantry.tenancy",
    "tenantry.accounts",
    "tenantry.billing",
    "tenantry.system",
    "tenantry.core",
    "tenantry.backups",
    "tenantry.dashboard",
    "tenantry.api",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "django_prometheus",
    "tenantry.observability",
]
# Each tenant's own schema: its business data.
TENANT_APPS = [
    "django.contrib.contenttypes",
    "tenantry.projects",
]
INSTALLED_APPS = SHARED_APPS + [app for app in TENANT_APPS if app not in SHARED_APPS]

TENANT_MODEL = "tenancy.Tenant"
TENANT_DOMAIN_MODEL = "tenancy.Domain"
# Reads of views marked @replica_reads go to the replica, if there is one (tenantry.db.replica).
DATABASE_ROUTERS = ["tenantry.db.replica.ReplicaRouter", "django_tenants.routers.TenantSyncRouter"]

MIDDLEWARE = [
    # django-prometheus' pair (only the families read: observability/prometheus_middleware.py) wraps
    # everything else; request logs, tenant metrics and Server-Timing come after the health checks
    # (no log line per probe) and before routing (so they time it).
    "tenantry.observability.prometheus_middleware.RequestsBefore",
    "tenantry.core.middleware.HealthCheckMiddleware",
    "tenantry.observability.middleware.RequestObservabilityMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Outside the router's transaction: it files a writer's WAL position after the commit.
    "tenantry.db.replica.ReadYourWritesMiddleware",
    "tenantry.tenancy.middleware.TenantRoutingMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "tenantry.dashboard.middleware.FiguresPinMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "tenantry.observability.prometheus_middleware.RequestsAfter",
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
# How long a web request waits for a lost database to come back before it fails: a new connection is
# retried, and a transaction whose first statement found its connection dead is opened again on a new
# one (tenantry.db). A PgBouncer restart takes under a second, a PostgreSQL fast restart about one; 4 s
# stays under the readiness probe's 5 s timeout. The operator (direct) keeps failing fast: Kopf retries
# its handlers, and its admission webhook must answer the API server quickly.
DATABASES["default"]["RECONNECT_SECONDS"] = env.integer("TENANTRY_DB_RECONNECT_SECONDS",
                                                        4 if DATABASES["default"]["POOLED"] else 0)
# A direct connection (the operator's) dies with a PostgreSQL restart, and the next webhook call or
# reconcile would fail on it: check it before reuse. Behind PgBouncer the client connection outlives
# a PostgreSQL restart, so the web pods skip the round trip unless told otherwise. Either way the
# backend first polls a kept connection's socket before each transaction (no round trip) and replaces
# it when PgBouncer or PostgreSQL closed it (tenantry.db.resilience).
DATABASES["default"]["CONN_HEALTH_CHECKS"] = env.boolean("DB_CONN_HEALTH_CHECKS",
                                                         not DATABASES["default"]["POOLED"])
# A streaming replica (optional) for heavy read-only views, through its own PgBouncer: the same
# backend, so the same SET LOCAL per transaction keeps tenants apart there. It fails fast (no
# reconnect wait, 1 s to connect): a replica that does not answer sends the reads to the primary
# (tenantry.db.replica), and further behind than the threshold, so does a lagging one.
if env.string("TENANTRY_DATABASE_REPLICA_URL", ""):
    DATABASES["replica"] = {
        **DATABASES["default"],
        **dj_database_url.parse(env.string("TENANTRY_DATABASE_REPLICA_URL"),
                                conn_max_age=DATABASES["default"]["CONN_MAX_AGE"]),
        "ENGINE": "tenantry.db",
        "OPTIONS": {**DATABASES["default"]["OPTIONS"], "connect_timeout": 1},
        "RECONNECT_SECONDS": 0,
    }
TENANTRY_REPLICA_MAX_LAG_SECONDS = env.integer("TENANTRY_REPLICA_MAX_LAG_SECONDS", 5)
TENANTRY_FIGURES_FRESH_SECONDS = env.integer("TENANTRY_FIGURES_FRESH_SECONDS", 5)  # tenantry.dashboard.cache
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# What django-tenants' backend (and so ours) builds on: django-prometheus' PostgreSQL backend, which
# counts and times every query (django_db_*).
ORIGINAL_BACKEND = "django_prometheus.db.backends.postgresql"

# --- Cache and sessions -------------------------------------------------------------------------
# A prefix lets several deployments (or test runs) share one Redis without seeing each other.
CACHE_PREFIX = env.string("TENANTRY_CACHE_PREFIX", "tenantry")


# With REDIS_SENTINELS both caches (so sessions, and the tenant lookup cache) ask those Sentinels for
# the master of REDIS_SENTINEL_MASTER and follow it after a failover; reads go to the master too, so
# a session one request writes is what the next one reads. Without, REDIS_URL names the one Redis.
# A failover takes seconds (down-after-milliseconds, then an election); a command meanwhile waits up
# to REDIS_SENTINEL_RETRY_SECONDS for the new master instead of failing, which matters for sessions:
# Django reads a session it cannot load as no session at all, and deletes the browser's cookie.
REDIS_SENTINELS = redis_sentinel.parse_sentinels(env.string("REDIS_SENTINELS", ""))
if REDIS_SENTINELS:
    REDIS_LOCATION = redis_sentinel.location(env.string("REDIS_SENTINEL_MASTER", "tenantry"),
                                             env.string("REDIS_URL", ""))
    REDIS_SENTINEL_OPTIONS = redis_sentinel.cache_options(REDIS_SENTINELS,
                                                          env.integer("REDIS_SENTINEL_RETRY_SECONDS", 4))
else:
    REDIS_LOCATION, REDIS_SENTINEL_OPTIONS = env.string("REDIS_URL"), {}
CACHES = {
    # django-redis with hit and miss counters (django_cache_*).
    "default": {
        "BACKEND": "django_prometheus.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_LOCATION,
        "KEY_FUNCTION": "tenantry.tenancy.cache.tenant_scoped_key",
        "KEY_PREFIX": CACHE_PREFIX,
        "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 2, "SOCKET_TIMEOUT": 2, **REDIS_SENTINEL_OPTIONS},
    },
    # Platform-wide entries (host -> tenant) that must not be scoped to the active tenant.
    "platform": {
        "BACKEND": "django_prometheus.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_LOCATION,
        "KEY_PREFIX": f"{CACHE_PREFIX}:platform",
        "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 2, "SOCKET_TIMEOUT": 2, **REDIS_SENTINEL_OPTIONS},
    },
}
SESSION_ENGINE = "django.contrib.sessions.backends.cache"

# --- Accounts -------------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["tenantry.accounts.backends.TenantMembershipBackend"]
# Argon2id first (tenantry/accounts/hashers.py says why); PBKDF2 stays to check, and upgrade at log-in,
# the hashes made before it.
PASSWORD_HASHERS = [
    "tenantry.accounts.hashers.TenantryArgon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
TENANTRY_ARGON2_TIME_COST = env.integer("TENANTRY_ARGON2_TIME_COST", 2)
TENANTRY_ARGON2_MEMORY_KIB = env.integer("TENANTRY_ARGON2_MEMORY_KIB", 19 * 1024)
TENANTRY_ARGON2_PARALLELISM = env.integer("TENANTRY_ARGON2_PARALLELISM", 1)
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "dashboard:home"
LOGOUT_REDIRECT_URL = "accounts:login"
# Failed logins allowed per email and per client address at one tenant, per minute.
TENANTRY_LOGIN_RATE = env.string("TENANTRY_LOGIN_RATE", "5/m")
# A tenant without a successful backup for this long counts as overdue (metrics and alerts): the
# daily CronJob plus two hours of slack.
TENANTRY_BACKUP_MAX_AGE_SECONDS = env.integer("TENANTRY_BACKUP_MAX_AGE_SECONDS", 26 * 3600)
# Password reset requests (each mails a link) allowed per email and per client address at one tenant.
TENANTRY_PASSWORD_RESET_RATE = env.string("TENANTRY_PASSWORD_RESET_RATE", "5/h")
# Behind an ingress every client has the proxy's address: name the request header (e.g.
# HTTP_X_REAL_IP) the ingress sets, or one attacker's failures would lock a tenant's login for all.
RATELIMIT_IP_META_KEY = env.string("TENANTRY_CLIENT_IP_HEADER", "REMOTE_ADDR")
# Emails are unique case-insensitively by a database constraint (accounts.User.Meta).
SILENCED_SYSTEM_CHECKS = ["auth.W004"]
TENANTRY_TRIAL_DAYS = env.integer("TENANTRY_TRIAL_DAYS", 14)

# Locally mail goes to the console (the local platform's web log); a cluster sets SMTP variables.
EMAIL_BACKEND = env.string("DJANGO_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env.string("EMAIL_HOST", "localhost")
EMAIL_PORT = env.integer("EMAIL_PORT", 25)
DEFAULT_FROM_EMAIL = env.string("DEFAULT_FROM_EMAIL", "Tenantry <no-reply@tenantry.dev>")

# --- Security ---------------------------------------------------------------------------------------
# Behind TLS (every cluster install) cookies are Secure and HSTS is on; the local platform serves
# plain http on loopback and turns this off.
SECURE = env.boolean("TENANTRY_SECURE", not DEBUG)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = SECURE
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = CSRF_COOKIE_SAMESITE = "Lax"
SECURE_HSTS_SECONDS = 31536000 if SECURE else 0
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if SECURE else None
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
DATA_UPLOAD_MAX_MEMORY_SIZE = env.integer("DJANGO_MAX_BODY_BYTES", 1024 * 1024)

# --- REST API ---------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "tenantry.api.authentication.TenantTokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["tenantry.api.permissions.IsTenantMember"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 25,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_VERSIONING_CLASS": "rest_framework.versioning.NamespaceVersioning",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Tenantry API",
    "DESCRIPTION": "The API of one tenant, served at that tenant's host.",
    "VERSION": None,
    "SERVE_INCLUDE_SCHEMA": False,
}

# --- Static files and the rest ------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(env.string("DJANGO_STATIC_ROOT", str(BASE_DIR.parent.parent / ".local" / "static")))
# Front-end packages come from npm (package.json at the repository root), never from a CDN.
NODE_MODULES = Path(env.string("TENANTRY_NODE_MODULES", str(BASE_DIR.parent.parent / "node_modules")))
STATICFILES_DIRS = [("vendor/chart.js", NODE_MODULES / "chart.js" / "dist")]
WHITENOISE_USE_FINDERS = True
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False  # English only: translation machinery on every request is cost for nothing
USE_TZ = True

# --- Observability --------------------------------------------------------------------------------
# Requests of at most this many tenants get their own `tenant` label; the rest share "__other__"
# (tenantry.observability.tenant_metrics says how the cap holds across workers and pods).
TENANTRY_METRICS_TENANT_CAP = env.integer("TENANTRY_METRICS_TENANT_CAP", 100)

# One JSON object per line (tenantry.observability.log_format), for log shippers.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": JSON_FORMATTER},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json"}},
    "root": {"handlers": ["console"], "level": env.string("LOG_LEVEL", "INFO")},
}
