"""Fixtures over the real platform: services, a per-run database, and a per-run operator and web."""
import http.client
import json
import os
import subprocess
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest
from django.test import Client

from conftest import RUN_ID, TEST_DB
from localplatform import cluster, config
from localplatform.components import (
    Component,
    infrastructure,
    operator,
    postgres_exporter,
    prometheus,
    scrape_targets,
    shared_exporters,
    web,
)
from localplatform.proc import PlatformError, log_file, read_pid, stop
from localplatform.stack import discard, ensure_namespace, install_crd, kubectl, migrate, start_all
from testkit import polling, tenants
from testkit.net import direct, free_port

if TYPE_CHECKING:
    from tenantry.accounts.models import User
    from tenantry.tenancy.models import Tenant


def require(components: list[Component], start: bool) -> None:
    """Make sure every component answers; the failure names the one that does not."""
    if start:
        start_all(components)
        return
    for component in components:
        if read_pid(component.name) is None or not component.ready():
            raise PlatformError(f"{component.title} is not running on {config.HOST}:{component.port} "
                                f"(TENANTRY_TEST_START=0, so the harness does not start it); run `make up` "
                                f"or read {log_file(component.name)}")


@pytest.fixture(scope="session")
def services():
    start = os.environ.get("TENANTRY_TEST_START", "1") != "0"
    try:
        require(infrastructure(), start=start)
    except PlatformError as err:
        pytest.fail(f"a real service the tests need is missing: {err}", pytrace=False)


@pytest.fixture(scope="session")
def database(services):
    """A fresh database for this run with the shared schema migrated; dropped at the end."""
    with direct() as conn:
        conn.execute(f'CREATE DATABASE "{TEST_DB}"')
    try:
        migrate(TEST_DB)
        yield TEST_DB
    finally:
        from django.db import connections

        connections.close_all()
        with direct() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{TEST_DB}" WITH (FORCE)')


@pytest.fixture(scope="session")
def control_plane(services):
    install_crd()
    namespace = f"tenantry-test-{RUN_ID}"
    ensure_namespace(namespace)
    yield namespace
    kubectl("delete", "namespace", namespace, "--wait=false")


class App:
    """This run's gunicorn (and, for end-to-end tests, its operator watching its own namespace)."""

    def __init__(self, db_name: str, web_port: int, metrics_port: int | None = None):
        self.db_name = db_name
        self.web_port = web_port
        self.metrics_port = metrics_port  # where gunicorn's master serves /metrics
        self.namespace = ""
        self.operator: Component | None = None

    def get(self, host: str, path: str = "/") -> tuple[int, dict, str]:
        """GET through gunicorn with the given Host header, as a browser at that host would."""
        conn = http.client.HTTPConnection(config.HOST, self.web_port, timeout=10)
        try:
            conn.request("GET", path, headers={"Host": f"{host}:{self.web_port}"})
            response = conn.getresponse()
            return response.status, dict(response.getheaders()), response.read().decode()
        finally:
            conn.close()

    def served(self, host: str, status: int, timeout: float = 5) -> tuple[int, dict, str]:
        """The first answer with `status` at `host`, waiting up to `timeout` s: a worker sees a tenant
        change within tenantry.tenancy.routing.GENERATION_SECONDS of the invalidation, not at once."""
        answers = []

        def answered() -> bool:
            answers.append(self.get(host))
            return answers[-1][0] == status

        try:
            polling.wait_for(answered, f"{host} answering {status}", timeout, every=0.05)
        except polling.TimedOut as err:
            raise AssertionError(f"{err}; last answer {answers[-1][0] if answers else None}") from None
        return answers[-1]

    def kubectl(self, *args: str, input: str | None = None) -> str:
        return kubectl("-n", self.namespace, *args, input=input)

    def apply(self, manifest: str) -> str:
        return self.kubectl("apply", "-f", "-", input=manifest)

    def apply_tenant(self, name: str, **spec) -> str:
        """`kubectl apply` one Tenant of this run's namespace; `spec` in the API's own field names."""
        return self.apply(tenants.manifest(tenants.tenant(name, **spec)))

    def tenant(self, name: str) -> dict:
        return json.loads(self.kubectl("get", "tenant", name, "-o", "json"))

    def is_ready(self, name: str) -> bool:
        """Ready at the Tenant's current generation: the spec last applied is served."""
        return tenants.ready(self.tenant(name)) is not None

    def wait_for(self, predicate, timeout: float = 60, what: str = "condition"):
        try:
            return polling.wait_for(predicate, what, timeout)
        except polling.TimedOut as err:
            raise polling.TimedOut(f"{err}; operator log: {log_file(f'operator-test-{RUN_ID}')}") from None

    def wait_ready(self, name: str, timeout: float = 60) -> dict:
        self.wait_for(lambda: self.is_ready(name), timeout, what=f"{name} Ready")
        return self.tenant(name)


NO_REPLICA = {"TENANTRY_DATABASE_REPLICA_URL": ""}
PASSWORD = "correct horse battery"  # every TestTenant user's


def start_or_fail(components: list[Component]) -> None:
    try:
        start_all(components)
    except PlatformError as err:
        pytest.fail(str(err), pytrace=False)


@pytest.fixture(scope="session")
def web_app(database):
    port, metrics_port = free_port(), free_port()
    # Without the replica: tests write rows behind the app's back and read them through it at once,
    # which only the primary promises (tests/integration/test_replica_reads.py runs its own with it).
    server = web(name=f"web-test-{RUN_ID}", port=port, db_name=database, metrics_port=metrics_port,
                 extra_env=NO_REPLICA)
    start_or_fail([server])
    yield App(database, port, metrics_port)
    discard(server)


@pytest.fixture(scope="session")
def app(web_app, control_plane):
    """gunicorn plus an operator for this run's namespace and database."""
    runner = operator(name=f"operator-test-{RUN_ID}", port=free_port(), namespace=control_plane,
                      db_name=web_app.db_name, web_port=web_app.web_port, drift_interval_seconds=3,
                      fleet_interval_seconds=2, metrics_port=free_port(), webhook_port=free_port())
    start_or_fail([runner])
    web_app.namespace = control_plane
    web_app.operator = runner
    yield web_app
    # Tenants carry the operator's finalizer: remove them while the operator still runs.
    subprocess.run([str(config.BIN / "kubectl"), f"--kubeconfig={config.KUBECONFIG}", "-n", control_plane,
                    "delete", "tenants", "--all", "--timeout=60s"], capture_output=True)
    stop(runner.name, runner.stop_signal)
    subprocess.run([str(config.BIN / "kubectl"), f"--kubeconfig={config.KUBECONFIG}", "delete",
                    "validatingwebhookconfiguration", f"tenantry.dev.{control_plane}", "--ignore-not-found"],
                   capture_output=True)


@pytest.fixture(scope="session")
def prometheus_url(app):
    """A Prometheus of this run's own, scraping every second this run's gunicorn, operator and a
    PostgreSQL exporter of this run's database, and the PgBouncer and Redis exporters (shared with
    `make up`, like the pool and Redis; started if missing)."""
    try:
        require(shared_exporters(), start=os.environ.get("TENANTRY_TEST_START", "1") != "0")
    except PlatformError as err:
        pytest.fail(f"a real service the tests need is missing: {err}", pytrace=False)
    database_exporter = postgres_exporter(name=f"postgres-exporter-test-{RUN_ID}", port=free_port(),
                                          db_name=app.db_name)
    targets = scrape_targets(app.metrics_port, int(app.operator.env["TENANTRY_METRICS_PORT"]),
                             database_exporter.port)
    server = prometheus(targets, name=f"prometheus-test-{RUN_ID}", port=free_port(), interval_seconds=1)
    start_or_fail([database_exporter, server])
    yield f"http://{config.HOST}:{server.port}"
    for component in (server, database_exporter):
        discard(component)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def schema_exists(database: str, schema: str) -> bool:
    with direct(database) as conn:
        return conn.execute("SELECT 1 FROM information_schema.schemata WHERE schema_name = %s",
                            [schema]).fetchone() is not None


def ready_tenant_with_a_row(app: App, prefix: str, row: str) -> tuple[str, "Tenant"]:
    """A Ready tenant holding one project, for tests that prove something leaves it alone."""
    from django_tenants.utils import tenant_context

    from tenantry.accounts.models import User
    from tenantry.projects.models import Project
    from tenantry.tenancy.models import Tenant

    name = unique(prefix)
    app.apply_tenant(name)
    app.wait_ready(name)
    tenant = Tenant.objects.get(resource=f"{app.namespace}/{name}")
    owner = User.objects.create_user(f"{name}@example.com")
    with tenant_context(tenant):
        Project.objects.create(name=row, owner=owner)
    return name, tenant


@dataclass
class TestTenant:
    __test__ = False  # a helper, not a test class (pytest collects Test* names it sees imported)

    tenant: "Tenant"
    host: str

    @property
    def schema(self) -> str:
        return self.tenant.schema_name

    def client(self, **kwargs) -> Client:
        """Django's test client at this tenant's host (in-process, full middleware stack)."""
        return Client(HTTP_HOST=self.host, **kwargs)

    def user(self, role: str = "member", password: str = PASSWORD) -> "User":
        """A user with a password who is a `role` of this tenant."""
        from tenantry.accounts.services import ensure_member

        user, _ = ensure_member(f"{role}-{uuid.uuid4().hex[:6]}@{self.host}", self.tenant.id, role)
        user.set_password(password)
        user.save(update_fields=["password"])
        return user

    def logged_in_client(self, role: str = "member") -> tuple[Client, "User"]:
        from django_tenants.utils import tenant_context

        client = self.client()
        user = self.user(role)
        with tenant_context(self.tenant):  # sessions are cached under the tenant's schema
            client.force_login(user, backend="tenantry.accounts.backends.TenantMembershipBackend")
        return client, user


def add_projects(t: TestTenant, owner: "User", count: int, prefix: str = "Project", **fields) -> list:
    """`count` projects named "<prefix> 00", ... in the tenant, made through the service layer."""
    from django_tenants.utils import tenant_context

    from tenantry.projects.services import create_project

    with tenant_context(t.tenant):
        return [create_project(owner=owner, name=f"{prefix} {n:02d}", **fields) for n in range(count)]


def new_tenant(**overrides) -> TestTenant:
    """Provision a fresh tenant in this run's database (schema, rows, domain). No tenant-wide plan
    unless asked (plan="free"), so billing tests start from a tenant nobody pays for."""
    from tenantry.tenancy.services import TenantSpec, provision_tenant

    name = overrides.pop("name", None) or "t" + uuid.uuid4().hex[:8]
    host = f"{name}.test.localhost"
    spec = {"resource": f"test/{name}", "schema": f"t_{name}", "display_name": f"Tenant {name}",
            "domains": (host,), "plan": None, **overrides}
    tenant = provision_tenant(TenantSpec(**spec))
    return TestTenant(tenant=tenant, host=spec["domains"][0])


def _plan_of(request) -> str | None:
    """A module or test marked `tenant_plan("free")` gets tenants on that plan, as the operator
    makes them; unmarked ones get tenants nobody pays for."""
    marker = request.node.get_closest_marker("tenant_plan")
    return marker.args[0] if marker else None


@pytest.fixture
def tenant(request, database) -> TestTenant:
    return new_tenant(plan=_plan_of(request))


@pytest.fixture
def other_tenant(request, database) -> TestTenant:
    return new_tenant(plan=_plan_of(request))


def run_tool(*argv, input: str | None = None, check: bool = True,
             env: dict[str, str] | None = None, timeout: float = 180) -> subprocess.CompletedProcess:
    """A command-line tool (helm, kubectl, a generator); with `check`, a failure shows its output."""
    result = subprocess.run([str(a) for a in argv], input=input, capture_output=True, text=True, timeout=timeout,
                            env={**os.environ, **(env or {})})
    if check:
        assert result.returncode == 0, f"{' '.join(map(str, argv))} failed:\n{result.stdout}\n{result.stderr}"
    return result


def kubectl_run(*args, input: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
    """kubectl with the admin kubeconfig, returning the completed process (for tests of refusals)."""
    kubectl_bin = config.BIN / "kubectl"
    assert kubectl_bin.exists(), f"{kubectl_bin} is missing: `make deps` builds it"
    return run_tool(kubectl_bin, f"--kubeconfig={config.KUBECONFIG}", *args, input=input, check=check)


@contextmanager
def scratch_namespace(prefix: str):
    """A fresh namespace of our own, deleted afterwards."""
    name = f"{prefix}-{uuid.uuid4().hex[:8]}"
    kubectl_run("create", "namespace", name)
    try:
        yield name
    finally:
        kubectl_run("delete", "namespace", name, "--wait=false", "--ignore-not-found")


@pytest.fixture(scope="session")
def the_node():
    """The node of `make cluster`, brought up through the same code (or, with TENANTRY_TEST_START=0,
    only checked); one that cannot start fails the run with the component and its log."""
    try:
        if os.environ.get("TENANTRY_TEST_START", "1") != "0":
            cluster.up()
        else:
            require(cluster.components(), start=False)
    except PlatformError as err:
        pytest.fail(f"the node (make cluster) is not up: {err}", pytrace=False)
