"""The web side of the benchmark: its own Redis and PgBouncer, one tenant with demo data, accounts
for Locust, and the gunicorn servers being compared (Tenantry, stock django-tenants, plain Django,
a bare WSGI hello), all with the same gunicorn settings.

A private Redis and PgBouncer make the cache hit ratio and the pool exactly this benchmark's, not
the sum of every test run sharing the `make up` platform. Django must already be set up in this
process for the bench database (bench/__main__.py does it) with the private Redis.
"""
import dataclasses
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from localplatform import config
from localplatform.components import Component, app_env, pgbouncer, redis, venv_bin, web
from localplatform.proc import service_dir
from localplatform.stack import discard, start_all
from testkit.browser import Browser
from testkit.net import free_port

TENANT_SLUG = "webbench"
TENANT_HOST = f"{TENANT_SLUG}.localhost"
TENANT_SCHEMA = f"t_{TENANT_SLUG}"
OWNER_EMAIL = "owner@webbench.example.com"
PASSWORD = "tenantry-bench-2026"
WORKERS, THREADS = 2, 4  # `make up`'s gunicorn, for every server compared
SETTINGS = {
    "tenantry": "tenantry.benchmarks.settings_tenantry",
    "stock": "tenantry.benchmarks.settings_stock",
    "plain": "tenantry.settings_plain",
}


@dataclass
class Stack:
    hex: str
    db: str
    redis: Component | None = None
    # Stock django-tenants sets search_path per session, so behind transaction pooling its requests run
    # in whatever schema the server connection last had (django-tenants #1112, #545, #732): measured,
    # the dashboard answered 500s. It gets its own PgBouncer, in session mode (its one correct setup,
    # and with 20 server connections for 8 gunicorn threads nothing queues); Tenantry and plain Django
    # share one in transaction mode, as deployed.
    # The "replica" server also reads its marked views through a third, on `make up`'s streaming replica.
    pgbouncers: dict[str, Component] = field(default_factory=dict)  # "shared", "stock" and "replica"
    servers: dict[str, Component] = field(default_factory=dict)  # kind -> gunicorn
    tenant_id: int = 0

    def redis_url(self) -> str:
        return f"redis://{config.HOST}:{self.redis.port}/0"

    def port(self, kind: str) -> int:
        return self.servers[kind].port

    def components(self) -> list[Component]:
        return [*self.servers.values(), *self.pgbouncers.values(), *([self.redis] if self.redis else [])]


def setup_django(db: str, redis_url: str) -> None:
    """Django in this process for `db`: the operator's settings, on the primary alone (the queries
    figure counts what a view sends there), with `redis_url` in place of the Sentinels' Redis."""
    import django

    os.environ.update({**app_env(db, pooled=False), "TENANTRY_DATABASE_REPLICA_URL": "",
                       "REDIS_URL": redis_url, "REDIS_SENTINELS": ""})
    django.setup()


def start_backing(stack: Stack) -> None:
    stack.redis = redis(name=f"redis-bench-{stack.hex}", port=free_port())
    servers = {"shared": "postgres", "stock": "postgres", "replica": "postgres-replica"}
    stack.pgbouncers = {pool: pgbouncer(name=f"pgbouncer-bench-{pool}-{stack.hex}", port=free_port(),
                                        server_port=config.PORTS[server]) for pool, server in servers.items()}
    stack.pgbouncers["stock"] = session_pooling(stack.pgbouncers["stock"])
    start_all([stack.redis, *stack.pgbouncers.values()])


def session_pooling(bouncer: Component) -> Component:
    """The same PgBouncer with pool_mode = session."""
    def prepare() -> None:
        bouncer.prepare()
        ini = service_dir(bouncer.name) / "pgbouncer.ini"
        ini.write_text(ini.read_text().replace("pool_mode = transaction", "pool_mode = session"))

    return dataclasses.replace(bouncer, prepare=prepare)


def prepare_tenant(stack: Stack) -> None:
    """The tenant every server serves: 20 demo projects and an owner, on the free plan (a live
    subscription for every member, so Locust's accounts may create projects)."""
    from tenantry.core.demo import seed_tenant
    from tenantry.tenancy.services import TenantSpec, provision_tenant

    tenant = provision_tenant(TenantSpec(resource=f"bench/{TENANT_SLUG}", schema=TENANT_SCHEMA,
                                         display_name="Web Bench", domains=(TENANT_HOST,), plan="free"))
    seed_tenant(TENANT_HOST, OWNER_EMAIL, PASSWORD)
    stack.tenant_id = tenant.id


def prepare_accounts(stack: Stack, count: int) -> list[dict]:
    """`count` members, each with a session and an API token, for loadtest's --prepared-users.

    Hundreds of Locust users signing up would measure password hashing, not the request path; people
    already signed in are the common case anyway. They share one password hash (one hashing for
    all), so the scenario's log-out/log-in still works.
    """
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.cache import SessionStore
    from django_tenants.utils import tenant_context
    from rest_framework.authtoken.models import Token

    from tenantry.accounts.models import Membership, User
    from tenantry.tenancy.models import Tenant

    hashed = User(email="x@example.com")
    hashed.set_password(PASSWORD)
    users = User.objects.bulk_create([User(email=f"lb-{i:05d}-{stack.hex}@webbench.example.com",
                                           full_name=f"Bench user {i}", password=hashed.password)
                                      for i in range(count)])
    Membership.objects.bulk_create([Membership(user=u, tenant_id=stack.tenant_id) for u in users])
    tokens = Token.objects.bulk_create([Token(key=Token.generate_key(), user=u) for u in users])
    accounts = []
    with tenant_context(Tenant.objects.get(pk=stack.tenant_id)):  # sessions are scoped to the schema
        for user, token in zip(users, tokens, strict=True):
            session = SessionStore()
            session.update({SESSION_KEY: str(user.pk), HASH_SESSION_KEY: user.get_session_auth_hash(),
                            BACKEND_SESSION_KEY: "tenantry.accounts.backends.TenantMembershipBackend"})
            session.create()
            accounts.append({"email": user.email, "password": PASSWORD, "session": session.session_key,
                             "token": token.key})
    return accounts


def write_prepared(accounts: list[dict], path: Path) -> Path:
    """The --prepared-users file of loadtest/locustfile.py."""
    path.write_text(json.dumps({TENANT_HOST: accounts}))
    return path


def plain_search_path(stack: Stack) -> None:
    """Plain Django finds the tenant's tables as a single-schema app finds its own: through the
    role's search_path in this database, set once, never per request."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f'ALTER ROLE "{config.DB_USER}" IN DATABASE "{stack.db}" '
                       f'SET search_path = "{TENANT_SCHEMA}", public')


def server(stack: Stack, kind: str, port: int) -> Component:
    """One gunicorn of `kind` (tenantry, stock, plain, hello, or replica: Tenantry with the streaming
    replica), same workers and threads for all. Worker recycling (max_requests) is off so no server
    pays for restarts inside a measurement."""
    replica = (config.database_url(stack.pgbouncers["replica"].port, stack.db) if kind == "replica" else "")
    base = web(name=f"web-bench-{kind}-{stack.hex}", port=port, db_name=stack.db, workers=WORKERS,
               threads=THREADS, settings=SETTINGS.get(kind, SETTINGS["tenantry"] if kind == "replica"
                                                      else "tenantry.settings"),
               pgbouncer_port=stack.pgbouncers["stock" if kind == "stock" else "shared"].port,
               extra_env={"REDIS_URL": stack.redis_url(), "GUNICORN_MAX_REQUESTS": "0",
                          "REDIS_SENTINELS": "", "TENANTRY_DATABASE_REPLICA_URL": replica,
                          "TENANTRY_PLAIN_TENANT_ID": str(stack.tenant_id),
                          "TENANTRY_PLAIN_TENANT_SCHEMA": TENANT_SCHEMA, "TENANTRY_PLAIN_TENANT_NAME": "Web Bench"})
    if kind != "hello":
        return base
    return dataclasses.replace(base, argv=lambda: [venv_bin("gunicorn"), "-c", "python:tenantry.gunicorn_conf",
                                                   "tenantry.benchmarks.hello:application"])


def start_servers(stack: Stack, kinds: list[str]) -> None:
    for kind in kinds:
        stack.servers[kind] = server(stack, kind, free_port())
    start_all(list(stack.servers.values()))


def stop_everything(stack: Stack) -> None:
    for component in stack.components():
        discard(component)


def log_in(port: int, host: str = TENANT_HOST, email: str = OWNER_EMAIL, password: str = PASSWORD) -> str:
    """Log in through the login form as a browser would; returns the Cookie header to send."""
    return Browser(port, host, timeout=30).log_in(email, password).cookie_header
