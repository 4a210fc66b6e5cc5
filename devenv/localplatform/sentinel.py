"""Redis with Sentinel: the primary (`components.redis()`), a replica and three Sentinels watching them.

The app never names a Redis server: it asks the Sentinels (REDIS_SENTINELS) for the master of
REDIS_SENTINEL_MASTER and reconnects there after a failover. Two of the three Sentinels must agree
that the master is down (quorum 2, and a majority to elect the one that promotes the replica); with
down-after-milliseconds 1000 a killed primary is replaced in about two to four seconds.

Both Redis servers keep an append-only file (`components.redis_server_argv`), so one that restarts
comes back with what it had a second before. A replica always starts as a replica of the master the
Sentinels name; the primary starts with its plain command line, as a master, and if the Sentinels
have promoted the replica meanwhile they turn it into that replica's replica about ten seconds later
(`+convert-to-slave`, then a full sync that replaces its stale data). Clients only reach the master
the Sentinels name, so they never see the stale one, provided it comes back only once every Sentinel
names the new master (`RedisSet.agreed_master`; the chaos fault waits for that): one that still
names the old master would hand it out again.

Each Sentinel rewrites its own configuration file (what it learns about replicas, other Sentinels and
failovers), so each gets a writable one under `.local/<name>/`; it is written afresh at each start,
naming the master the running Sentinels name (else the primary) and keeping the Sentinel's id.

Everything here speaks RESP over a socket itself: `make up` runs under the system Python, before the
virtualenv (and redis-py) exists.
"""
import re
import socket
from dataclasses import dataclass
from pathlib import Path

from . import config
from .components import Component, redis, redis_server_argv
from .proc import port_open

QUORUM = 2
DOWN_AFTER_MILLISECONDS = 1000
FAILOVER_TIMEOUT_MILLISECONDS = 5000


# --- Pure: configuration text and settings values ---------------------------------------------------

def sentinel_conf(port: int, master: str, master_port: int, folder: Path, master_host: str = config.HOST,
                  quorum: int = QUORUM, down_after_ms: int = DOWN_AFTER_MILLISECONDS,
                  failover_timeout_ms: int = FAILOVER_TIMEOUT_MILLISECONDS, myid: str | None = None) -> str:
    """A Sentinel's configuration file, watching `master` at master_host:master_port."""
    lines = [
        f"port {port}",
        f"bind {config.HOST}",
        "daemonize no",
        'logfile ""',
        f"dir {folder}",
        "sentinel resolve-hostnames no",
        f"sentinel monitor {master} {master_host} {master_port} {quorum}",
        f"sentinel down-after-milliseconds {master} {down_after_ms}",
        f"sentinel failover-timeout {master} {failover_timeout_ms}",
        f"sentinel parallel-syncs {master} 1",
    ]
    if myid:  # the same id across restarts: the other Sentinels keep one entry for it, not two
        lines.append(f"sentinel myid {myid}")
    return "\n".join(lines) + "\n"


MYID = re.compile(r"^sentinel myid ([0-9a-f]{40})$", re.MULTILINE)


def kept_myid(previous_conf: str) -> str | None:
    """The id a Sentinel wrote into its configuration file last time, if any."""
    match = MYID.search(previous_conf)
    return match.group(1) if match else None


def sentinel_addresses(ports: list[int] | tuple[int, ...], host: str = config.HOST) -> str:
    """REDIS_SENTINELS: "host:port,host:port,..."."""
    return ",".join(f"{host}:{port}" for port in ports)


# --- RESP over a socket -------------------------------------------------------------------------------

class ReplyError(RuntimeError):
    """Redis answered with an error (`-ERR ...`)."""


def command(port: int, *args: str, host: str = config.HOST, timeout: float = 1.0):
    """Send one command and return its decoded reply (str, int, None or a list of those)."""
    payload = f"*{len(args)}\r\n" + "".join(f"${len(a.encode())}\r\n{a}\r\n" for a in args)
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(payload.encode())
        with sock.makefile("rb") as reader:
            return _read_reply(reader)


def _read_reply(reader):
    line = reader.readline()
    if not line.endswith(b"\r\n"):
        raise ConnectionError("the connection closed mid-reply")
    kind, rest = line[:1], line[1:-2].decode()
    if kind == b"+":
        return rest
    if kind == b"-":
        raise ReplyError(rest)
    if kind == b":":
        return int(rest)
    if kind == b"$":
        size = int(rest)
        return None if size < 0 else reader.read(size + 2)[:-2].decode()
    if kind == b"*":
        size = int(rest)
        return None if size < 0 else [_read_reply(reader) for _ in range(size)]
    raise ConnectionError(f"not a RESP reply: {line!r}")


def answers(port: int) -> bool:
    try:
        return command(port, "PING") == "PONG"
    except (OSError, ReplyError):
        return False


def role(port: int) -> list | None:
    """ROLE of the Redis on `port` (["master", ...] or ["slave", host, port, state, offset]); None if down."""
    try:
        return command(port, "ROLE")
    except (OSError, ReplyError):
        return None


# --- One set: primary, replica, Sentinels -------------------------------------------------------------

@dataclass(frozen=True)
class RedisSet:
    """A primary and a replica under one master name, and the Sentinels watching them. `make up` runs
    PLATFORM; a test runs a private one on free ports (`private`), so it can kill its primary."""
    master: str
    primary: tuple[str, int]                     # (component name, port)
    replica: tuple[str, int]
    sentinels: tuple[tuple[str, int], ...]

    @classmethod
    def private(cls, tag: str, primary_port: int, replica_port: int, sentinel_ports: list[int]) -> "RedisSet":
        """A set named after `tag` (a test run's id), never clashing with `make up`'s names."""
        return cls(master=f"tenantry-{tag}", primary=(f"redis-{tag}", primary_port),
                   replica=(f"redis-replica-{tag}", replica_port),
                   sentinels=tuple((f"sentinel-{tag}-{n}", port) for n, port in enumerate(sentinel_ports, 1)))

    @property
    def sentinel_ports(self) -> list[int]:
        return [port for _, port in self.sentinels]

    @property
    def addresses(self) -> str:
        return sentinel_addresses(self.sentinel_ports)

    def env(self) -> dict[str, str]:
        """What the app's settings read to go through these Sentinels."""
        return {"REDIS_SENTINELS": self.addresses, "REDIS_SENTINEL_MASTER": self.master}

    # What the running Sentinels say.

    def current_master(self) -> int | None:
        """The master's port as the first Sentinel that answers names it; None if none answers."""
        for port in self.sentinel_ports:
            try:
                address = command(port, "SENTINEL", "get-master-addr-by-name", self.master)
            except (OSError, ReplyError):
                continue
            if address:
                return int(address[1])
        return None

    def agreed_master(self) -> int | None:
        """The master's port when every Sentinel's table of masters (what clients read: redis-py asks
        SENTINEL MASTERS) holds the same one. get-master-addr-by-name names the promoted replica as soon
        as the failover reaches it, while the tables keep the old address until the failover ends, and
        on the other Sentinels until they hear of it (hello messages, every 2 s): a killed master back
        (empty) before that is up again in those tables, and clients would be sent to it."""
        ports = set()
        for port in self.sentinel_ports:
            try:
                fields = command(port, "SENTINEL", "master", self.master)
            except (OSError, ReplyError):
                return None
            ports.add(int(dict(zip(fields[::2], fields[1::2], strict=True))["port"]))
        return ports.pop() if len(ports) == 1 else None

    def settled(self) -> bool:
        """Every Sentinel knows the master up, the replica up and the other Sentinels: a failover can
        happen now (a Sentinel that has not met the others yet could not be elected to run it)."""
        for port in self.sentinel_ports:
            try:
                fields = command(port, "SENTINEL", "master", self.master)
                replicas = command(port, "SENTINEL", "replicas", self.master)
            except (OSError, ReplyError):
                return False
            state = dict(zip(fields[::2], fields[1::2], strict=True))
            up = [dict(zip(r[::2], r[1::2], strict=True)) for r in replicas]
            if ("down" in state["flags"] or int(state["num-other-sentinels"]) < len(self.sentinels) - 1
                    or not any("down" not in r["flags"] and r["master-link-status"] == "ok" for r in up)):
                return False
        return True

    def replicating(self, port: int, master_port: int) -> bool:
        """The Redis on `port` is a replica of the one on `master_port` with its link up."""
        answer = role(port)
        return bool(answer) and answer[0] == "slave" and int(answer[2]) == master_port and answer[3] == "connected"

    # Components, in start order.

    def data_components(self) -> list[Component]:
        return [self.primary_component(), self.replica_component()]

    def data_component(self, port: int) -> Component:
        """The primary's or the replica's component, by port (whichever is master now)."""
        return next(c for c in self.data_components() if c.port == port)

    def primary_component(self) -> Component:
        name, port = self.primary
        return redis(name=name, port=port)

    def replica_component(self) -> Component:
        name, port = self.replica
        folder = config.LOCAL / name

        def master_port() -> int:
            named = self.current_master()
            return named if named not in (None, port) else self.primary[1]

        return Component(name=name, title=f"Redis replica ({name})", port=port,
                         prepare=lambda: folder.mkdir(parents=True, exist_ok=True),
                         argv=lambda: redis_server_argv(port, folder, replica_of=master_port()),
                         ready=lambda: port_open(port))

    def sentinel_component(self, name: str, port: int) -> Component:
        folder = config.LOCAL / name
        conf = folder / "sentinel.conf"

        def prepare() -> None:
            folder.mkdir(parents=True, exist_ok=True)
            myid = kept_myid(conf.read_text()) if conf.exists() else None
            conf.write_text(sentinel_conf(port, self.master, self.current_master() or self.primary[1], folder,
                                          myid=myid))

        return Component(name=name, title=f"Redis Sentinel ({name})", port=port, prepare=prepare,
                         argv=lambda: ["redis-sentinel", str(conf)], ready=lambda: answers(port))

    def sentinel_components(self) -> list[Component]:
        return [self.sentinel_component(name, port) for name, port in self.sentinels]

    def support_components(self) -> list[Component]:
        """What runs beside the primary: the replica, then the Sentinels."""
        return [self.replica_component(), *self.sentinel_components()]

    def components(self) -> list[Component]:
        return [self.primary_component(), *self.support_components()]


PLATFORM = RedisSet(master=config.REDIS_SENTINEL_MASTER, primary=("redis", config.PORTS["redis"]),
                    replica=("redis-replica", config.PORTS["redis-replica"]),
                    sentinels=tuple((f"sentinel-{n}", config.PORTS[f"sentinel-{n}"]) for n in (1, 2, 3)))
