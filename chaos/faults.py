"""The faults, each acting on a real process of the platform through `localplatform` (pids, start, stop).

Every function returns once the fault has been injected *and* the broken part has been started again
(or, for gunicorn, replaced by its master), so the caller measures the recovery of the whole path.
"""
import configparser
import os
import signal
import threading
from pathlib import Path

import psycopg

from localplatform import config
from localplatform.components import Component
from localplatform.proc import PlatformError, port_open, read_pid, service_dir, stop, wait_for
from localplatform.stack import kubectl, start_all
from testkit import tenants


def children(pid: int) -> list[int]:
    """Direct children of `pid`, from /proc (gunicorn's workers are its master's children)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def kill_worker(web: Component) -> None:
    """SIGKILL one gunicorn worker mid-request; the master must fork a replacement."""
    master = read_pid(web.name)
    if master is None:
        raise PlatformError(f"chaos: {web.title} is not running")
    workers = children(master)
    if not workers:
        raise PlatformError(f"chaos: {web.title} (pid {master}) has no workers")
    os.kill(workers[0], signal.SIGKILL)
    wait_for(lambda: workers[0] not in children(master) and len(children(master)) == len(workers),
             f"{web.title} to replace worker {workers[0]}", 30, every=0.1)


def restart(component: Component) -> None:
    """Stop with the component's own signal (SIGINT is PostgreSQL's fast shutdown) and start it again,
    once its port is free (a stopped kubelet's listener can outlive its pid for a moment)."""
    stop(component.name, component.stop_signal)
    wait_for(lambda: not port_open(component.port, component.host), f"{component.title}'s port to close", 20,
             every=0.1)
    start_all([component])


def pool_slots(pgbouncer: Component) -> int:
    """Server connections PgBouncer gives one database and user: the pool plus its reserve."""
    ini = configparser.ConfigParser()
    ini.read(service_dir(pgbouncer.name) / "pgbouncer.ini")
    settings = ini["pgbouncer"]
    return int(settings.get("default_pool_size", 20)) + int(settings.get("reserve_pool_size", 0))


def fill_pool(pgbouncer: Component, db_name: str, seconds: float) -> None:
    """Slow clients take every server connection of the app's pool for `seconds` (pg_sleep inside a
    transaction, so transaction pooling cannot hand the connection to anyone else meanwhile)."""
    url = config.database_url(pgbouncer.port, db_name)
    ready = threading.Barrier(pool_slots(pgbouncer) + 1, timeout=30)

    def sleeper() -> None:
        with psycopg.connect(url) as conn:  # not autocommit: BEGIN ... pg_sleep ... holds the server
            conn.execute("SELECT 1")
            ready.wait()
            conn.execute("SELECT pg_sleep(%s)", [seconds])

    threads = [threading.Thread(target=sleeper) for _ in range(ready.parties - 1)]
    for thread in threads:
        thread.start()
    ready.wait()
    for thread in threads:
        thread.join(seconds + 60)


def kill_operator_while_provisioning(operator: Component, namespace: str, names: list[str]) -> int:
    """Apply several Tenants, SIGKILL the operator as soon as it has started on them, start it again.
    Returns how many were not Ready yet when it died."""
    chaotic = [tenants.tenant(n, displayName=f"Chaos {n}", deletionPolicy="Delete") for n in names]
    kubectl("-n", namespace, "apply", "-f", "-", input=tenants.manifest(*chaotic))
    pid = read_pid(operator.name)
    if pid is None:
        raise PlatformError(f"chaos: {operator.title} is not running")

    def field(path: str) -> list[str]:
        return kubectl("-n", namespace, "get", "tenants", *names, "-o", f"jsonpath={{.items[*].{path}}}").split()

    # The finalizer is the operator's first write to a Tenant: from then on it is working on them.
    wait_for(lambda: bool(field("metadata.finalizers")), "the operator to start provisioning", 60, every=0.1)
    os.killpg(pid, signal.SIGKILL)
    wait_for(lambda: read_pid(operator.name) is None, f"{operator.title} to die", 10, every=0.1)
    unfinished = len(names) - field("status.phase").count("Ready")
    start_all([operator])
    return unfinished
