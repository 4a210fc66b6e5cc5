"""Bring the platform up, report on it, take it down.

`up` is idempotent: a component whose pid is alive and whose port answers is left alone, a dead one
is restarted alone. If anything fails, the components started by *this* run are stopped again, so a
failed `make up` leaves nothing half-started, and the error names the component and its log.
"""
import shutil
import time

from . import config
from .components import (
    Component,
    app_env,
    exporters,
    infrastructure,
    operator,
    prometheus,
    scrape_targets,
    venv_bin,
    web,
)
from .deps import ensure_all, say
from .proc import PlatformError, log_file, log_tail, port_open, read_pid, run, spawn, stop

CRDS = config.ROOT / "charts" / "tenantry" / "crds"
EXAMPLES = config.ROOT / "manifests" / "examples"
DEMO_TENANTS = ("acme", "globex")
# A local-only password for the demo owners (owner@<tenant>.example.com, from manifests/examples).
DEMO_PASSWORD = "tenantry-demo-2026"


def demo_seed_args() -> list[str]:
    """`seed_demo`'s arguments for the demo tenants: an owner each, and an analyst who only reads
    (the chaos load's reader of the replica-backed views)."""
    return [f"--password={DEMO_PASSWORD}",
            *[f"--owner={name}.{config.BASE_DOMAIN}=owner@{name}.example.com" for name in DEMO_TENANTS],
            *[f"--member={name}.{config.BASE_DOMAIN}=analyst@{name}.example.com" for name in DEMO_TENANTS]]


def ensure_running(component: Component, started: list[Component]) -> None:
    pid = read_pid(component.name)
    if pid is not None:
        if component.ready() or _wait_ready(component, pid):
            return
        raise PlatformError(f"{component.title} (pid {pid}) is running but not answering on port "
                            f"{component.port}; read {log_file(component.name)}")
    if port_open(component.port, component.host):
        raise PlatformError(f"port {component.port} is already in use, and {component.title} needs it. "
                            f"Stop whatever listens there (`ss -ltnp 'sport = :{component.port}'`) and re-run.")
    component.prepare()
    pid = spawn(component.name, component.argv(), env=component.env, user=component.user, cwd=component.cwd)
    started.append(component)
    if not _wait_ready(component, pid):
        raise PlatformError(f"{component.title} did not start; read {log_file(component.name)}:\n"
                            f"{log_tail(component.name)}")
    say(f"{component.title} is up on {component.host}:{component.port} (pid {pid})")


def _wait_ready(component: Component, pid: int) -> bool:
    deadline = time.monotonic() + component.start_timeout
    while time.monotonic() < deadline:
        if component.ready():
            return True
        if read_pid(component.name) != pid:
            return False  # it exited
        time.sleep(0.2)
    return False


def start_all(components: list[Component]) -> list[Component]:
    """Start what is not running, in order; on failure stop what this call started and re-raise."""
    started: list[Component] = []
    try:
        for component in components:
            ensure_running(component, started)
            component.after_start()
    except BaseException:
        for component in reversed(started):
            stop(component.name, component.stop_signal)
        raise
    return started


def kubectl(*args: str, input: str | None = None) -> str:
    return run([str(config.BIN / "kubectl"), f"--kubeconfig={config.KUBECONFIG}", *args],
               f"kubectl {args[0]}", input=input)


def manage(*args: str, db_name: str = config.DB_NAME) -> str:
    """A Django management command over a direct connection (migrations need a session)."""
    return run([venv_bin("python"), str(config.ROOT / "app" / "manage.py"), *args],
               f"manage.py {args[0]}", env=app_env(db_name, pooled=False))


def migrate(db_name: str = config.DB_NAME) -> None:
    """What a deploy runs: the public schema, then the template new tenants are cloned from, then
    every existing tenant schema."""
    manage("deploy", "-v", "0", db_name=db_name)


def install_crd() -> None:
    """The chart's CRDs: Tenant, and Kopf's peering resource for operator replicas."""
    kubectl("apply", "--server-side", "--force-conflicts", "-f", str(CRDS))
    kubectl("wait", "--for=condition=Established", "crd/tenants.tenantry.dev", "crd/kopfpeerings.kopf.dev",
            "--timeout=60s")


def ensure_namespace(namespace: str) -> None:
    manifest = f"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {namespace}\n"
    kubectl("apply", "-f", "-", input=manifest)


def app_components() -> list[Component]:
    return [operator(metrics_port=config.PORTS["operator-metrics"], webhook_port=config.PORTS["operator-webhook"]),
            web(metrics_port=config.PORTS["web-metrics"])]


def monitoring_components() -> list[Component]:
    """The data tier's exporters, and Prometheus scraping them with the platform's web and operator."""
    targets = scrape_targets(config.PORTS["web-metrics"], config.PORTS["operator-metrics"])
    return exporters() + [prometheus(targets)]


def all_components() -> list[Component]:
    return infrastructure() + app_components() + monitoring_components()


def up() -> None:
    began = time.monotonic()
    ensure_all()
    start_all(infrastructure())
    migrate()
    manage("collectstatic", "--noinput", "-v", "0")  # as the image build does; served by whitenoise
    install_crd()
    ensure_namespace(config.NAMESPACE)
    start_all(app_components())
    start_all(monitoring_components())
    kubectl("apply", "-n", config.NAMESPACE, "-f", str(EXAMPLES))
    kubectl("wait", "-n", config.NAMESPACE, "--for=condition=Ready", "--timeout=120s",
            *[f"tenant/{name}" for name in DEMO_TENANTS])
    manage("seed_demo", *demo_seed_args())
    say(f"the platform is up ({time.monotonic() - began:.1f}s)")
    print(f"""
  Open        http://acme.localhost:{config.PORTS['web']}/  and  http://globex.localhost:{config.PORTS['web']}/
  Log in as   owner@acme.example.com / {DEMO_PASSWORD}  (globex: owner@globex.example.com, same password)
  kubectl     export KUBECONFIG={config.KUBECONFIG} PATH={config.BIN}:$PATH; kubectl get tenants
  Prometheus  http://{config.HOST}:{config.PORTS['prometheus']}/  (jobs web, operator, postgres, pgbouncer, redis)
  Replica     {config.HOST}:{config.PORTS['postgres-replica']} streaming from {config.PORTS['postgres']}, pooled at \
{config.PORTS['pgbouncer-replica']} (read-only, same role and password)
  Status      make status        Logs  {config.LOGS}/<component>.log
""")


def status(node_components: list[Component] = ()) -> bool:
    """Print one line per component of `make up`, then of the node when given; True when all of
    `make up`'s are up (the node is optional)."""
    print(f"{'component':32} {'state':6} {'port':>6} {'pid':>8}  log")
    all_up = True
    for component in all_components():
        all_up &= _status_line(component)
    if node_components:
        print("-- the node (make cluster)")
        for component in node_components:
            _status_line(component)
    return all_up


def _status_line(component: Component) -> bool:
    pid = read_pid(component.name)
    up_now = pid is not None and component.ready()
    print(f"{component.name:32} {'up' if up_now else 'down':6} {component.port:>6} {pid or '-':>8}  "
          f"{log_file(component.name)}")
    return up_now


def down(node_components: list[Component] = ()) -> None:
    for component in reversed(all_components()):
        if stop(component.name, component.stop_signal):
            say(f"stopped {component.title}")
    # Anything else with a pid file was started by an interrupted test run (web-test-*, ...), except
    # the node's processes, which `make cluster-down` stops in its own order.
    keep = {component.name for component in node_components}
    for leftover in sorted(p for p in config.RUN.glob("*.pid") if p.stem not in keep):
        if stop(leftover.stem):
            say(f"stopped leftover {leftover.stem}")


def discard(component: Component) -> None:
    """Stop a private component (a test run's or a benchmark's) and delete its folder, so `.local`
    keeps only the platform's; its log stays for the post-mortem."""
    stop(component.name, component.stop_signal)
    folder = config.LOCAL / component.name
    if folder.is_symlink():  # service data kept outside (see proc.service_dir)
        shutil.rmtree(folder.resolve(), ignore_errors=True)
        folder.unlink()
    else:
        shutil.rmtree(folder, ignore_errors=True)


def clean() -> None:
    down()
    for link in (p for p in config.LOCAL.glob("*") if p.is_symlink()):  # service data kept outside
        target = link.resolve()
        shutil.rmtree(target, ignore_errors=True)
        if target.parent.exists() and not any(target.parent.iterdir()):
            target.parent.rmdir()
    shutil.rmtree(config.LOCAL, ignore_errors=True)
    say(f"removed {config.LOCAL}")
