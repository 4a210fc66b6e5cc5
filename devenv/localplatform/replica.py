"""A streaming read replica of `make up`'s PostgreSQL, and a PgBouncer of its own.

PostgreSQL's own physical replication, as a managed database or a PostgreSQL operator runs it: the
replica is a `pg_basebackup` of the running primary that streams its WAL over a replication
connection as the role `replicator`, through the physical slot `tenantry_replica` (the primary keeps
every WAL segment the replica has not received, up to max_slot_wal_keep_size). It is a hot standby:
it answers read-only queries of every database, test databases included, since it replays the whole
cluster. hot_standby_feedback keeps the primary's VACUUM from removing rows a replica query still
reads, so long reports are not cancelled by replay conflicts.

    .local/postgres-replica/data     the clone (standby.signal, primary_conninfo in postgresql.auto.conf)
    127.0.0.1:15435                  the replica; 127.0.0.1:16433 its PgBouncer (transaction pooling)

A replica whose data folder exists just starts and catches up from the slot. It is cloned again when
its slot is gone or the primary had to give up WAL it still needed (wal_status `lost`): the clone
cannot catch up then, and it holds no data of its own.
"""
import shutil
import signal

from . import config
from .components import (
    PG_BIN,
    Component,
    accepting_connections,
    pg_data,
    pg_socket,
    pgbouncer,
    postgres_argv,
    psql_admin,
)
from .proc import chown_for_service, run, service_user, wait_for

NAME = "postgres-replica"
PRIMARY = "postgres"
# What `make up`'s replica calls itself to the primary: pg_stat_replication.application_name, the
# metrics' label (a replica's component name).
APPLICATION_NAME = NAME
# The primary keeps at most this much WAL for a replica that is away; past it the slot is lost and
# the next start clones the replica again (rather than filling the disk).
MAX_SLOT_WAL_KEEP_SIZE = "2GB"
STREAMING_TIMEOUT_SECONDS = 60


def standby_options() -> tuple[str, ...]:
    """The replica's `-c` settings beside the primary's: a hot standby that reports its replay
    position every second (what pg_stat_replication and the lag metrics show), tells the primary which
    rows its queries still need, and cancels a query that holds up replay for more than 5 s."""
    return ("-c", "hot_standby=on", "-c", "hot_standby_feedback=on",
            "-c", "max_standby_streaming_delay=5s", "-c", "wal_receiver_status_interval=1s")


def replication_hba_line(cidr: str = f"{config.HOST}/32") -> str:
    return f"host replication {config.REPLICATION_USER} {cidr} scram-sha-256\n"


def basebackup_argv(data: str, primary_port: int = config.PORTS["postgres"], slot: str = config.REPLICATION_SLOT,
                    application_name: str = APPLICATION_NAME) -> list[str]:
    """Clone the running primary into `data`: WAL streamed alongside (-X stream) so the copy is
    consistent, a fast checkpoint to start at once, and -R to write standby.signal and
    primary_conninfo (with the slot and the application name) for the replica to stream from."""
    conninfo = (f"host={config.HOST} port={primary_port} user={config.REPLICATION_USER} "
                f"application_name={application_name}")
    return [str(PG_BIN / "pg_basebackup"), "-d", conninfo, "-D", data, "-R", "-X", "stream", "-S", slot,
            "--checkpoint=fast", "--no-password"]


def _primary(sql: str) -> str:
    return psql_admin(sql, name=PRIMARY, port=config.PORTS["postgres"]).strip()


def ensure_primary(slot: str = config.REPLICATION_SLOT) -> bool:
    """Everything a replica needs of the primary, idempotently: the replication role, its pg_hba
    line, the slot, a cap on the WAL a slot may hold, and pg_read_all_stats for the application
    role, which the exporter connects as (without it, pg_stat_replication hides every replica's
    position and state). True when the slot was created now (a replica cloned earlier cannot use it)."""
    user, password = config.REPLICATION_USER, config.REPLICATION_PASSWORD
    _primary(f"""DO $$ BEGIN
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{user}') THEN
            CREATE ROLE {user} WITH REPLICATION LOGIN PASSWORD '{password}';
        END IF; END $$;""")
    _primary(f"GRANT pg_read_all_stats TO {config.DB_USER}")
    hba = pg_data(PRIMARY) / "pg_hba.conf"
    if replication_hba_line() not in hba.read_text():
        with hba.open("a") as out:
            out.write(replication_hba_line())
    if _primary("SHOW max_slot_wal_keep_size") == "-1":
        _primary(f"ALTER SYSTEM SET max_slot_wal_keep_size = '{MAX_SLOT_WAL_KEEP_SIZE}'")
    _primary("SELECT pg_reload_conf()")
    if _primary(f"SELECT 1 FROM pg_replication_slots WHERE slot_name = '{slot}'"):
        return False
    _primary(f"SELECT pg_create_physical_replication_slot('{slot}', true)")
    return True


def slot_lost(slot: str = config.REPLICATION_SLOT) -> bool:
    return _primary(f"SELECT wal_status FROM pg_replication_slots WHERE slot_name = '{slot}'") == "lost"


def drop_slot(slot: str) -> None:
    """For a private replica that is gone for good: otherwise the primary keeps WAL for it."""
    _primary(f"SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '{slot}'")


def _prepare(name: str, slot: str) -> None:
    data = pg_data(name)
    if slot_lost(slot):
        drop_slot(slot)
    new_slot = ensure_primary(slot)
    if data.exists() and (new_slot or not (data / "PG_VERSION").exists()):
        shutil.rmtree(data)  # a clone that cannot catch up, or a half-made one
    pg_socket(name).mkdir(exist_ok=True)
    chown_for_service(pg_socket(name))
    if not data.exists():
        run(basebackup_argv(str(data), slot=slot, application_name=name),
            f"pg_basebackup of the primary for {name}", env={"PGPASSWORD": config.REPLICATION_PASSWORD},
            user=service_user())


def _replica(sql: str, name: str = NAME, port: int = config.PORTS["postgres-replica"]) -> str:
    return psql_admin(sql, name=name, port=port).strip()


def wait_streaming(name: str = NAME, port: int = config.PORTS["postgres-replica"],
                   timeout: float = STREAMING_TIMEOUT_SECONDS) -> None:
    """Until the replica's WAL receiver streams from the primary (it answers queries before that)."""
    wait_for(lambda: _replica("SELECT status FROM pg_stat_wal_receiver", name, port) == "streaming",
             f"the replica ({name}) to stream from the primary (read .local/logs/{name}.log)", timeout, every=0.2)


def postgres_replica(name: str = NAME, port: int = config.PORTS["postgres-replica"],
                     slot: str = config.REPLICATION_SLOT) -> Component:
    """`make up`'s replica; tests may start private ones under other names, ports and slots (each
    replica needs a slot of its own, and its name is its application_name on the primary)."""
    return Component(
        name=name, title=f"PostgreSQL ({name})", port=port,
        prepare=lambda: _prepare(name, slot),
        argv=lambda: postgres_argv(name, port, options=standby_options()),
        ready=lambda: accepting_connections(port),
        after_start=lambda: wait_streaming(name, port),
        user=service_user(), stop_signal=signal.SIGINT)


def pgbouncer_replica(name: str = "pgbouncer-replica", port: int = config.PORTS["pgbouncer-replica"]) -> Component:
    """The replica's own pool, in transaction mode like the primary's: what TENANTRY_DATABASE_REPLICA_URL
    points at when the web app runs pooled."""
    return pgbouncer(name=name, port=port, server_port=config.PORTS["postgres-replica"])


def components() -> list[Component]:
    return [postgres_replica(), pgbouncer_replica()]
