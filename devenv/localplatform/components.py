"""The platform's long-running parts: how each is prepared, started and probed.

Pure descriptions: a Component says nothing about order or lifecycle, `stack` does that. Operator and
web are built by functions so the test suite can run its own copies against its own database,
namespace and port, next to the ones `make up` runs.
"""
import json
import os
import signal
import ssl
import subprocess
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from . import config, gotools, pki
from .proc import chown_for_service, port_open, run, service_dir, service_user
from .prometheus import render as render_prometheus_config

PG_BIN = Path(f"/usr/lib/postgresql/{config.POSTGRES_MAJOR}/bin")


@dataclass
class Component:
    name: str
    title: str
    port: int
    argv: Callable[[], list[str]]
    ready: Callable[[], bool]
    prepare: Callable[[], object] = lambda: None
    # Run once it answers, whether this run started it or found it running (idempotent).
    after_start: Callable[[], object] = lambda: None
    host: str = config.HOST
    env: dict[str, str] = field(default_factory=dict)
    user: str | None = None
    stop_signal: int = signal.SIGTERM
    start_timeout: float = 90
    cwd: Path | None = None


def http_ok(url: str, ca: Path | None = None, insecure: bool = False) -> bool:
    context = None
    if url.startswith("https"):
        context = ssl.create_default_context(cafile=str(ca) if ca else None)
        if insecure:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
    try:
        with urllib.request.urlopen(url, timeout=2, context=context) as response:
            return response.status == 200
    except OSError:
        return False


# --- PostgreSQL ---------------------------------------------------------------------------------

def pg_data(name: str = "postgres") -> Path:
    return service_dir(name) / "data"


def pg_socket(name: str = "postgres") -> Path:
    return service_dir(name) / "socket"


def _prepare_postgres(name: str, client_cidrs: tuple[str, ...]) -> None:
    if not (pg_data(name) / "PG_VERSION").exists():
        pg_socket(name).mkdir(exist_ok=True)
        chown_for_service(pg_socket(name))
        run([str(PG_BIN / "initdb"), "-D", str(pg_data(name)), "-U", "postgres", "-E", "UTF8", "--no-locale",
             "--auth-local=trust", "--auth-host=scram-sha-256"], "PostgreSQL initdb", user=service_user())
    hba = pg_data(name) / "pg_hba.conf"
    rules = "".join(f"host all all {cidr} scram-sha-256\n" for cidr in client_cidrs
                    if f" {cidr} " not in hba.read_text())
    if rules:
        with hba.open("a") as out:
            out.write(rules)


def accepting_connections(port: int, host: str = config.HOST) -> bool:
    """pg_isready, not an open port: after an unclean stop PostgreSQL listens while it replays its WAL
    and refuses every client with "the database system is starting up" until it is done."""
    return subprocess.run([str(PG_BIN / "pg_isready"), "-q", "-h", host, "-p", str(port)],
                          check=False).returncode == 0


# Loaded at server start only: a running server takes a changed list on its next restart.
# pg_stat_statements keeps the statement profile the exporter's `tenantry_statements` query reads.
PRELOAD_LIBRARIES = ("pg_stat_statements",)


def postgres_argv(name: str, port: int, listen: tuple[str, ...] = (config.HOST,),
                  options: tuple[str, ...] = ()) -> list[str]:
    """The server's command line for the cluster under .local/<name>; `options` adds `-c` settings
    (the replica's standby ones). A hot standby needs max_connections at least the primary's."""
    return [str(PG_BIN / "postgres"), "-D", str(pg_data(name)), "-p", str(port),
            "-c", f"listen_addresses={','.join(listen)}",
            "-c", f"unix_socket_directories={pg_socket(name)}",
            "-c", "max_connections=300", "-c", "shared_buffers=256MB",
            "-c", "log_min_duration_statement=1000",
            "-c", f"shared_preload_libraries={','.join(PRELOAD_LIBRARIES)}", *options]


def postgres(name: str = "postgres", port: int = config.PORTS["postgres"],
             listen: tuple[str, ...] = (config.HOST,), client_cidrs: tuple[str, ...] = ()) -> Component:
    """A PostgreSQL cluster of its own under .local/<name>: `make up`'s on loopback, or the node's,
    which also listens on the node's bridge for the pods in `client_cidrs`."""
    return Component(
        name=name, title="PostgreSQL" if name == "postgres" else f"PostgreSQL ({name})", port=port,
        prepare=lambda: _prepare_postgres(name, client_cidrs),
        after_start=lambda: bootstrap_database(name, port),
        argv=lambda: postgres_argv(name, port, listen),
        ready=lambda: accepting_connections(port), user=service_user(),
        # SIGTERM is PostgreSQL's "smart" shutdown, which waits for every client; SIGINT is "fast".
        stop_signal=signal.SIGINT)


def psql_admin(sql: str, db: str = "postgres", name: str = "postgres", port: int = config.PORTS["postgres"]) -> str:
    """Run SQL as the cluster's superuser over the Unix socket (never exposed on TCP)."""
    return run(["psql", "-h", str(pg_socket(name)), "-p", str(port), "-U", "postgres",
                "-d", db, "-v", "ON_ERROR_STOP=1", "-qAt", "-c", sql], "PostgreSQL (psql as postgres)",
               user=service_user())


def bootstrap_database(name: str = "postgres", port: int = config.PORTS["postgres"]) -> None:
    """The application role and database; CREATEDB lets the test suite make its own databases.
    pg_stat_statements goes into template1, so every database made later (test runs', benchmarks')
    has it, and into the platform's, which may predate that. Only a superuser may create it."""
    user, password = config.DB_USER, config.DB_PASSWORD

    def admin(sql: str) -> str:
        return psql_admin(sql, name=name, port=port)

    admin(f"""DO $$ BEGIN
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{user}') THEN
            CREATE ROLE {user} LOGIN CREATEDB PASSWORD '{password}';
        END IF; END $$;""")
    # Never "$user", public: a schema named like the role must not become a tenant's fallback.
    admin(f"ALTER ROLE {user} SET search_path = public")
    if not admin(f"SELECT 1 FROM pg_database WHERE datname = '{config.DB_NAME}'").strip():
        admin(f"CREATE DATABASE {config.DB_NAME} OWNER {user}")
    for db in ("template1", config.DB_NAME):
        psql_admin("CREATE EXTENSION IF NOT EXISTS pg_stat_statements", db=db, name=name, port=port)


# --- PgBouncer ----------------------------------------------------------------------------------

def pgbouncer_ini(listen_port: int, server_port: int, auth_file: Path) -> str:
    """Transaction pooling, as in production: a server connection belongs to a client only for the
    length of one transaction, which is exactly what makes session-level `SET search_path` unsafe.
    server_login_retry is 1 s, not 15: after a failed login (PostgreSQL restarting) PgBouncer fails
    every client at once for that long, which made a PostgreSQL fast restart cost 15 s of errors."""
    return f"""[databases]
* = host={config.HOST} port={server_port}

[pgbouncer]
listen_addr = {config.HOST}
listen_port = {listen_port}
unix_socket_dir =
auth_type = scram-sha-256
auth_file = {auth_file}
pool_mode = transaction
max_client_conn = 2000
default_pool_size = 20
reserve_pool_size = 5
server_reset_query =
server_login_retry = 1
ignore_startup_parameters = extra_float_digits,options
admin_users = {config.DB_USER}
stats_users = {config.DB_USER}
"""


def pgbouncer(name: str = "pgbouncer", port: int = config.PORTS["pgbouncer"],
              server_port: int = config.PORTS["postgres"]) -> Component:
    """PgBouncer in front of our PostgreSQL (the primary, or the replica at `server_port`); tests
    start private ones under other names and ports."""
    def prepare() -> None:
        folder = service_dir(name)
        auth = folder / "userlist.txt"
        auth.write_text(f'"{config.DB_USER}" "{config.DB_PASSWORD}"\n')
        ini = folder / "pgbouncer.ini"
        ini.write_text(pgbouncer_ini(port, server_port, auth))
        for path in (folder, auth, ini):
            chown_for_service(path)
        os.chmod(auth, 0o600)

    return Component(name=name, title="PgBouncer" if name == "pgbouncer" else f"PgBouncer ({name})", port=port,
                     prepare=prepare, argv=lambda: ["pgbouncer", str(service_dir(name) / "pgbouncer.ini")],
                     ready=lambda: port_open(port), user=service_user(), stop_signal=signal.SIGINT)


# --- Redis --------------------------------------------------------------------------------------

def redis_server_argv(port: int, folder: Path, replica_of: int | None = None) -> list[str]:
    """Redis for the cache and the sessions, optionally a replica of the one on `replica_of`. Its
    append-only file (fsync every second) brings the sessions back after a restart: without it a
    restarted Redis is empty, and so, after their next sync, are its replicas, which logs every user
    out. The cache part is bounded by maxmemory (least recently used keys go first)."""
    return ["redis-server", "--bind", config.HOST, "--port", str(port), "--dir", str(folder),
            "--save", "", "--appendonly", "yes", "--appendfsync", "everysec", "--daemonize", "no",
            "--maxmemory", "256mb", "--maxmemory-policy", "allkeys-lru",
            *(["--replicaof", config.HOST, str(replica_of)] if replica_of else [])]


def redis(name: str = "redis", port: int = config.PORTS["redis"]) -> Component:
    data = config.LOCAL / name
    return Component(name=name, title=f"Redis ({name})" if name != "redis" else "Redis", port=port,
                     prepare=lambda: data.mkdir(parents=True, exist_ok=True),
                     argv=lambda: redis_server_argv(port, data), ready=lambda: port_open(port))


# --- Monitoring: the data tier's exporters and Prometheus ---------------------------------------

# Written by dashboards/generate.py when the dashboards need them; used when present.
EXPORTER_QUERIES = config.ROOT / "dashboards" / "postgres-exporter-queries.yaml"
ALERT_RULES = config.ROOT / "dashboards" / "alerts.yaml"


def _metrics_ready(port: int) -> Callable[[], bool]:
    return lambda: http_ok(f"http://{config.HOST}:{port}/metrics")


def postgres_exporter(name: str = "postgres-exporter", port: int = config.PORTS["postgres-exporter"],
                      db_name: str = config.DB_NAME) -> Component:
    """Debian's postgres_exporter, as the application role (what a cluster's exporter would get from a
    Secret); lib/pq wants TLS unless told otherwise, and loopback has none. Its custom query counts the
    schemas of one database, so a test run gives its own database an exporter of its own."""
    return Component(
        name=name, title=f"the PostgreSQL exporter of {db_name}", port=port,
        env={"DATA_SOURCE_NAME": config.database_url(config.PORTS["postgres"], db_name) + "?sslmode=disable"},
        argv=lambda: ["prometheus-postgres-exporter", f"--web.listen-address={config.HOST}:{port}",
                      *([f"--extend.query-path={EXPORTER_QUERIES}"] if EXPORTER_QUERIES.exists() else [])],
        ready=_metrics_ready(port))


def pgbouncer_exporter(port: int = config.PORTS["pgbouncer-exporter"]) -> Component:
    """Our stand-in for prometheus-community's exporter (see pgbouncer_exporter.py for why), reading
    PgBouncer's admin console as the role pgbouncer_ini() names a stats user."""
    dsn = f"postgresql://{config.DB_USER}@{config.HOST}:{config.PORTS['pgbouncer']}/pgbouncer"
    return Component(
        name="pgbouncer-exporter", title="the PgBouncer exporter", port=port, cwd=config.ROOT,
        env={"PGPASSWORD": config.DB_PASSWORD, "PYTHONPATH": str(config.ROOT / "devenv")},
        argv=lambda: [venv_bin("python"), "-m", "localplatform.pgbouncer_exporter", "--dsn", dsn,
                      "--addr", config.HOST, "--port", str(port)],
        ready=_metrics_ready(port))


def redis_exporter(port: int = config.PORTS["redis-exporter"]) -> Component:
    return Component(
        name="redis-exporter", title="the Redis exporter", port=port,
        argv=lambda: ["prometheus-redis-exporter", "-redis.addr", f"redis://{config.HOST}:{config.PORTS['redis']}",
                      "-web.listen-address", f"{config.HOST}:{port}"],
        ready=_metrics_ready(port))


def shared_exporters() -> list[Component]:
    """The PgBouncer and Redis exporters: one pool and one Redis serve `make up` and every test run,
    so their exporters are shared too."""
    return [pgbouncer_exporter(), redis_exporter()]


def exporters() -> list[Component]:
    """The data tier's exporters for `make up`, the PostgreSQL one watching the platform's database."""
    return [postgres_exporter(), *shared_exporters()]


def scrape_targets(web_metrics_port: int, operator_metrics_port: int,
                   postgres_exporter_port: int = config.PORTS["postgres-exporter"]) -> dict[str, list[str]]:
    """Prometheus job -> targets: one web, one operator and one PostgreSQL exporter (the platform's or
    a test run's), and the shared PgBouncer and Redis exporters."""
    ports = {"web": web_metrics_port, "operator": operator_metrics_port,
             "postgres": postgres_exporter_port, "pgbouncer": config.PORTS["pgbouncer-exporter"],
             "redis": config.PORTS["redis-exporter"]}
    return {job: [f"{config.HOST}:{port}"] for job, port in ports.items()}


def prometheus(targets: dict[str, list[str]], name: str = "prometheus", port: int = config.PORTS["prometheus"],
               interval_seconds: float = 5) -> Component:
    """Debian's Prometheus with its data under .local/<name>, loading the alert rules when they exist.
    The configuration is rendered at each start, so a restart picks up new rules or ports."""
    folder = config.LOCAL / name
    config_file = folder / "prometheus.yml"

    def prepare() -> None:
        folder.mkdir(parents=True, exist_ok=True)
        rules = [str(ALERT_RULES)] if ALERT_RULES.exists() else []
        config_file.write_text(render_prometheus_config(targets, interval_seconds, rules))

    return Component(
        name=name, title="Prometheus" if name == "prometheus" else f"Prometheus ({name})", port=port,
        prepare=prepare,
        argv=lambda: ["prometheus", f"--config.file={config_file}", f"--storage.tsdb.path={folder / 'data'}",
                      f"--web.listen-address={config.HOST}:{port}", "--storage.tsdb.retention.time=2d",
                      "--log.level=warn"],
        ready=lambda: http_ok(f"http://{config.HOST}:{port}/-/ready"))


# --- Kubernetes control plane -------------------------------------------------------------------

@dataclass(frozen=True)
class ControlPlane:
    """One Kubernetes control plane. `make up` runs PLATFORM on loopback with only the controllers the
    operator relies on; the node (`make cluster`) runs a second one of its own, so the process-mode
    operator and the in-pod one never share an API server."""
    prefix: str               # of its components' names: "" or "cluster-"
    host: str                 # where the API server binds and what it advertises
    etcd_port: int
    etcd_peer_port: int
    apiserver_port: int
    controller_manager_port: int
    home: Path                # etcd data, PKI, the components' kubeconfigs
    kubeconfig: Path          # the admin's, for kubectl and helm
    service_cidr: str
    controllers: str
    authorization: str = "RBAC"
    namespace: str = config.NAMESPACE  # the admin kubeconfig's default
    apiserver_args: tuple[str, ...] = ()
    controller_manager_args: tuple[str, ...] = ()

    @property
    def url(self) -> str:
        return f"https://{self.host}:{self.apiserver_port}"

    @property
    def pki(self) -> Path:
        return self.home / "pki"

    @property
    def kube_dir(self) -> Path:
        return self.home / "kube"

    def kubeconfig_file(self, client: str) -> Path:
        return self.kube_dir / f"{client}.kubeconfig"

    def write_kubeconfig(self, client: str, path: Path | None = None, namespace: str = config.NAMESPACE) -> Path:
        path = path or self.kubeconfig_file(client)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(pki.kubeconfig(client, self.url, root=self.pki, namespace=namespace))
        return path


PLATFORM = ControlPlane(
    prefix="", host=config.HOST, etcd_port=config.PORTS["etcd"], etcd_peer_port=config.PORTS["etcd-peer"],
    apiserver_port=config.PORTS["kube-apiserver"], controller_manager_port=config.PORTS["kube-controller-manager"],
    home=config.LOCAL, kubeconfig=config.KUBECONFIG, service_cidr="10.0.0.0/24",
    # Garbage collection of owned children and namespace deletion are what the operator relies on;
    # service accounts are needed by both.
    controllers="garbage-collector-controller,namespace-controller,serviceaccount-controller,"
                "serviceaccount-token-controller")
KUBE_DIR = PLATFORM.kube_dir


def etcd(plane: ControlPlane = PLATFORM) -> Component:
    client_url = f"http://{config.HOST}:{plane.etcd_port}"
    peer_url = f"http://{config.HOST}:{plane.etcd_peer_port}"
    return Component(
        name=f"{plane.prefix}etcd", title=f"{plane.prefix}etcd",
        port=plane.etcd_port,
        argv=lambda: [str(gotools.cached_binary("etcd", config.ETCD_VERSION)), "--name", "local",
                      "--data-dir", str(plane.home / "etcd"),
                      "--listen-client-urls", client_url, "--advertise-client-urls", client_url,
                      "--listen-peer-urls", peer_url, "--initial-advertise-peer-urls", peer_url,
                      "--initial-cluster", f"local={peer_url}", "--log-level", "warn",
                      # A disposable local store: fsync buys nothing here and costs every test.
                      "--unsafe-no-fsync"],
        ready=lambda: http_ok(f"{client_url}/health"))


def kube_apiserver(plane: ControlPlane = PLATFORM, prepare: Callable[[], object] = pki.ensure) -> Component:
    p = plane.pki
    return Component(
        name=f"{plane.prefix}kube-apiserver", title=f"{plane.prefix}kube-apiserver", port=plane.apiserver_port,
        host=plane.host, prepare=prepare,
        after_start=lambda: plane.write_kubeconfig("admin", plane.kubeconfig, plane.namespace),
        argv=lambda: [str(gotools.cached_binary("kube-apiserver", config.KUBERNETES_VERSION)),
                      f"--etcd-servers=http://{config.HOST}:{plane.etcd_port}",
                      f"--bind-address={plane.host}", f"--advertise-address={plane.host}",
                      f"--secure-port={plane.apiserver_port}", f"--cert-dir={plane.kube_dir}",
                      f"--tls-cert-file={p / 'apiserver.crt'}", f"--tls-private-key-file={p / 'apiserver.key'}",
                      f"--client-ca-file={p / 'ca.crt'}", f"--authorization-mode={plane.authorization}",
                      f"--service-account-key-file={p / 'sa.pub'}",
                      f"--service-account-signing-key-file={p / 'sa.key'}",
                      "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                      f"--service-cluster-ip-range={plane.service_cidr}", "--allow-privileged=true",
                      "--profiling=false", "--v=1", *plane.apiserver_args],
        ready=lambda: http_ok(f"{plane.url}/readyz", ca=p / "ca.crt"))


def kube_controller_manager(plane: ControlPlane = PLATFORM) -> Component:
    kubeconfig = plane.kubeconfig_file("controller-manager")
    return Component(
        name=f"{plane.prefix}kube-controller-manager", title=f"{plane.prefix}kube-controller-manager",
        port=plane.controller_manager_port, prepare=lambda: plane.write_kubeconfig("controller-manager"),
        argv=lambda: [str(gotools.cached_binary("kube-controller-manager", config.KUBERNETES_VERSION)),
                      f"--kubeconfig={kubeconfig}", f"--authentication-kubeconfig={kubeconfig}",
                      f"--authorization-kubeconfig={kubeconfig}",
                      f"--bind-address={config.HOST}", f"--secure-port={plane.controller_manager_port}",
                      f"--cert-dir={plane.kube_dir}", f"--controllers={plane.controllers}",
                      "--use-service-account-credentials=true",
                      f"--service-account-private-key-file={plane.pki / 'sa.key'}",
                      f"--root-ca-file={plane.pki / 'ca.crt'}", "--leader-elect=false", "--v=1",
                      *plane.controller_manager_args],
        ready=lambda: http_ok(f"https://{config.HOST}:{plane.controller_manager_port}/healthz", insecure=True))


def api_server_url() -> str:
    return PLATFORM.url


# --- Tenantry's own processes ---------------------------------------------------------------------

def venv_bin(command: str) -> str:
    return str(config.VENV / "bin" / command)


def app_env(db_name: str = config.DB_NAME, pooled: bool = True,
            pgbouncer_port: int = config.PORTS["pgbouncer"],
            replica_pgbouncer_port: int = config.PORTS["pgbouncer-replica"]) -> dict[str, str]:
    """The environment the Django settings read. Web traffic goes through PgBouncer; the operator
    provisions and migrates over a direct connection, because DDL and migrations need a session.
    The streaming replica is reached the same way: its own PgBouncer when pooled, else directly."""
    from .sentinel import PLATFORM as REDIS_SET  # it builds on this module's redis()

    port = pgbouncer_port if pooled else config.PORTS["postgres"]
    replica_port = replica_pgbouncer_port if pooled else config.PORTS["postgres-replica"]
    return {
        "DJANGO_SETTINGS_MODULE": "tenantry.settings",
        "DATABASE_URL": config.database_url(port, db_name),
        "TENANTRY_DATABASE_REPLICA_URL": config.database_url(replica_port, db_name),
        "TENANTRY_DB_POOLED": "1" if pooled else "0",
        # The app finds the Redis master through the Sentinels (localplatform.sentinel), and takes only
        # the database number from REDIS_URL then: REDIS_SENTINELS="" means REDIS_URL's Redis alone.
        "REDIS_URL": config.redis_url(),
        **REDIS_SET.env(),
        "TENANTRY_CACHE_PREFIX": db_name,
        "TENANTRY_BASE_DOMAIN": config.BASE_DOMAIN,
        "DJANGO_DEBUG": "0",
        # Plain http on loopback: cookies cannot be Secure-only here (a cluster install keeps them so).
        "TENANTRY_SECURE": "0",
        "DJANGO_SECRET_KEY": "local-development-only-" + db_name,
        "PYTHONUNBUFFERED": "1",
    }


def operator(name: str = "operator", port: int = config.PORTS["operator"], namespace: str = config.NAMESPACE,
             db_name: str = config.DB_NAME, web_port: int = config.PORTS["web"],
             drift_interval_seconds: float = 300, metrics_port: int | None = None,
             peering: str | None = None, peering_lifetime_seconds: int = 60,
             webhook_port: int | None = None, fleet_interval_seconds: float = 30,
             extra_env: dict[str, str] | None = None) -> Component:
    """One operator process. Without `peering` it runs standalone (the local platform runs one);
    with it, replicas sharing the KopfPeering object of that name elect one active handler.
    `extra_env` is for tests (e.g. a next release's DJANGO_SETTINGS_MODULE)."""
    env = {**app_env(db_name, pooled=False), "KUBECONFIG": str(config.KUBECONFIG),
           "TENANTRY_METRICS_PORT": str(metrics_port or ""), "TENANTRY_METRICS_ADDR": config.HOST,
           "TENANTRY_PUBLIC_SCHEME": "http", "TENANTRY_PUBLIC_PORT": str(web_port),
           "TENANTRY_BACKUP_DIR": str(config.LOCAL / "backups" / name),
           "TENANTRY_BACKUP_NOW": "inline",  # no kubelet here to run a backup Job
           "TENANTRY_DRIFT_INTERVAL_SECONDS": str(drift_interval_seconds),
           "TENANTRY_FLEET_INTERVAL_SECONDS": str(fleet_interval_seconds),
           "TENANTRY_PEERING_LIFETIME_SECONDS": str(peering_lifetime_seconds),
           "TENANTRY_WATCH_NAMESPACE": namespace}
    if webhook_port:
        env.update({"TENANTRY_WEBHOOK_PORT": str(webhook_port), "TENANTRY_WEBHOOK_HOST": config.HOST,
                    "TENANTRY_WEBHOOK_ADDR": config.HOST, "TENANTRY_WEBHOOK_CERT": str(pki.PKI / "webhook.crt"),
                    "TENANTRY_WEBHOOK_KEY": str(pki.PKI / "webhook.key"),
                    "TENANTRY_WEBHOOK_CA": str(pki.PKI / "ca.crt")})
    env.update(extra_env or {})
    return Component(
        name=name, title=f"the Tenant operator ({name})", port=port, env=env, cwd=config.ROOT,
        prepare=pki.ensure,  # the webhook's certificate
        argv=lambda: [venv_bin("kopf"), "run", *([f"--peering={peering}"] if peering else ["--standalone"]),
                      f"--namespace={namespace}",
                      f"--liveness=http://{config.HOST}:{port}/healthz", "-m", "tenantry_operator.main"],
        ready=lambda: http_ok(f"http://{config.HOST}:{port}/healthz"))


def web(name: str = "web", port: int = config.PORTS["web"], db_name: str = config.DB_NAME,
        workers: int = 2, threads: int = 4, settings: str = "tenantry.settings",
        pgbouncer_port: int = config.PORTS["pgbouncer"], metrics_port: int | None = None,
        extra_env: dict[str, str] | None = None) -> Component:
    """gunicorn as in the image; with `metrics_port`, its master serves /metrics there (loopback only),
    from prometheus-client files under the component's own folder. `extra_env` is for tests
    (e.g. GUNICORN_MAX_REQUESTS, TENANTRY_METRICS_TENANT_CAP)."""
    env = {**app_env(db_name, pgbouncer_port=pgbouncer_port), "GUNICORN_BIND": f"{config.HOST}:{port}",
           "WEB_CONCURRENCY": str(workers),
           "GUNICORN_THREADS": str(threads), "DJANGO_SETTINGS_MODULE": settings,
           "PROMETHEUS_MULTIPROC_DIR": str(config.LOCAL / name / "prometheus"),
           "TENANTRY_WEB_METRICS_PORT": str(metrics_port or ""), "TENANTRY_WEB_METRICS_ADDR": config.HOST,
           **(extra_env or {})}
    return Component(
        name=name, title=f"the web app under gunicorn ({name})", port=port, env=env, cwd=config.ROOT,
        # The container image's command (see Dockerfile), with the settings in the environment.
        argv=lambda: [venv_bin("gunicorn"), "-c", "python:tenantry.gunicorn_conf", "tenantry.wsgi"],
        ready=lambda: http_ok(f"http://{config.HOST}:{port}/healthz"))


def infrastructure() -> list[Component]:
    """What the tests share with `make up`, in start order: the replica is cloned from the running
    primary, so it comes after it."""
    from . import replica  # it builds on this module's PostgreSQL and PgBouncer
    from .sentinel import PLATFORM as REDIS_SET  # the Redis replica and Sentinels, after redis()

    return [postgres(), pgbouncer(), replica.postgres_replica(), replica.pgbouncer_replica(), redis(),
            *REDIS_SET.support_components(), etcd(), kube_apiserver(), kube_controller_manager()]


def describe(components: list[Component]) -> str:
    return json.dumps({c.name: c.port for c in components})
