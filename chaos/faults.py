"""The faults, each acting on a real process of the platform through `localplatform` (pids, start, stop).

Every function returns once the fault has been injected *and* the broken part has been started again
(or, for gunicorn, replaced by its master), so the caller measures the recovery of the whole path.
"""
import configparser
import os
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg

from localplatform import config
from localplatform.components import Component
from localplatform.proc import PlatformError, port_open, read_pid, service_dir, stop, wait_for
from localplatform.sentinel import RedisSet
from localplatform.stack import kubectl, start_all
from testkit import polling, replication, tenants


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


def chaos_tenants(names: list[str]) -> str:
    """The manifest of the Tenants a fault applies; Delete, so the cleanup takes their schemas too."""
    return tenants.manifest(*(tenants.tenant(n, displayName=f"Chaos {n}", deletionPolicy="Delete") for n in names))


def kill_operator_while_provisioning(operator: Component, namespace: str, names: list[str]) -> int:
    """Apply several Tenants, SIGKILL the operator as soon as it has started on them, start it again.
    Returns how many were not Ready yet when it died."""
    kubectl("-n", namespace, "apply", "-f", "-", input=chaos_tenants(names))
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


@dataclass(frozen=True)
class Failover:
    """What `kill_redis_primary` saw: ports of the old and the new master, seconds from the kill."""
    killed: str
    old_port: int
    new_port: int
    promoted_seconds: float  # until a Sentinel named the new master
    rejoined_seconds: float  # until the killed one replicated from it

    def __str__(self) -> str:  # the note in `make chaos`'s table
        return (f"the Sentinels promoted {config.HOST}:{self.new_port} {self.promoted_seconds:.1f}s after "
                f"{self.killed} was killed; it rejoined as a replica after {self.rejoined_seconds:.0f}s")


def kill_redis_primary(redis_set: RedisSet, timeout: float = 30) -> Failover:
    """SIGKILL whichever Redis the Sentinels name master now, wait until they name the other one, then
    start the killed one again through its component and wait until it replicates from the new master
    (the primary comes back a master, empty, and the Sentinels turn it into a replica: about 8 s), so
    `make up` is whole again when it returns."""
    wait_for(redis_set.settled, "the Sentinels to know the master, its replica and each other", timeout, every=0.2)
    old = redis_set.current_master()
    victim = redis_set.data_component(old)
    pid = read_pid(victim.name)
    if pid is None:
        raise PlatformError(f"chaos: the master the Sentinels name, {victim.title}, is not running")
    os.kill(pid, signal.SIGKILL)
    killed = time.monotonic()
    new = wait_for(lambda: (port := redis_set.current_master()) not in (None, old) and port,
                   f"the Sentinels to promote a replica in place of {victim.title}", timeout, every=0.05)
    promoted = time.monotonic() - killed
    # Back before every Sentinel's table holds the new master, the killed one (empty, a master again)
    # would be handed to clients by a Sentinel still holding it (see RedisSet.agreed_master).
    wait_for(lambda: redis_set.agreed_master() == new, f"every Sentinel to name {config.HOST}:{new}", timeout,
             every=0.05)
    wait_for(lambda: read_pid(victim.name) is None, f"{victim.title} to die", 10, every=0.1)
    start_all([victim])
    wait_for(lambda: redis_set.replicating(victim.port, new), f"{victim.title} to rejoin as a replica", 60,
             every=0.2)
    return Failover(victim.title, old, new, round(promoted, 2), round(time.monotonic() - killed, 2))


def stop_replica(replica: Component, seconds: float) -> str:
    """Stop the streaming read replica (fast shutdown), keep it stopped for `seconds` under the load (the
    app must keep serving: reads meant for the replica go to the primary), start it again and wait
    until it streams and has replayed what the primary wrote meanwhile (the slot kept that WAL)."""
    if read_pid(replica.name) is None:
        raise PlatformError(f"chaos: {replica.title} is not running")
    stop(replica.name, replica.stop_signal)
    wait_for(lambda: not port_open(replica.port, replica.host), f"{replica.title}'s port to close", 20, every=0.1)
    time.sleep(seconds)
    started = time.monotonic()
    start_all([replica])  # its after_start waits until it streams from the primary again
    streaming = time.monotonic() - started
    with psycopg.connect(config.database_url(config.PORTS["postgres"]), autocommit=True) as primary, \
            replication.replica_direct(port=replica.port) as standby:
        behind = replication.lag_bytes(primary, standby)
        try:
            replication.wait_replayed(primary, standby, timeout=60)
        except polling.TimedOut as err:
            raise PlatformError(f"chaos: {replica.title} did not catch up: {err}") from None
    return (f"{replica.title} was stopped for {seconds:g} s; started again, it streamed after {streaming:.1f} s "
            f"({behind} bytes behind) and had caught up after {time.monotonic() - started:.1f} s")
