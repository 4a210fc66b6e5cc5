"""The streaming replica of `make up` (localplatform.replica) as tests drive it: connections to it,
how far it is behind the primary, waiting until it has caught up, and holding its replay.

Replay is paused for the whole replica: every database on it, every test run's, `make up`'s too.
Keep a pause short; `replay_paused` resumes even when its block fails.
"""
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

from localplatform import config
from localplatform.components import psql_admin
from localplatform.replica import NAME
from tenantry.db.replica import lsn

from . import polling


def replica_direct(db: str = config.DB_NAME, port: int = config.PORTS["postgres-replica"],
                   **kwargs) -> psycopg.Connection:
    """A direct autocommit connection to the replica (`make up`'s, or a private one at `port`) as the
    application role (read-only: a hot standby refuses every write)."""
    return psycopg.connect(config.database_url(port, db), autocommit=True, **{"connect_timeout": 10, **kwargs})


def _lsn(conn: psycopg.Connection, function: str) -> int:
    return lsn(conn.execute(f"SELECT {function}()::text").fetchone()[0])


def primary_lsn(primary: psycopg.Connection) -> int:
    """Where the primary has written its WAL to."""
    return _lsn(primary, "pg_current_wal_lsn")


def replayed_lsn(replica: psycopg.Connection) -> int:
    """How far the replica has replayed (what its queries see)."""
    return _lsn(replica, "pg_last_wal_replay_lsn")


def received_lsn(replica: psycopg.Connection) -> int:
    """How far the replica has received and flushed the primary's WAL (replayed or not)."""
    return _lsn(replica, "pg_last_wal_receive_lsn")


def lag_bytes(primary: psycopg.Connection, replica: psycopg.Connection) -> int:
    """Bytes of WAL the primary has written that the replica has not replayed yet (0 when caught up)."""
    return max(0, primary_lsn(primary) - replayed_lsn(replica))


def wait_replayed(primary: psycopg.Connection, replica: psycopg.Connection, timeout: float = 30) -> int:
    """Until the replica has replayed everything the primary had written when called (so every commit
    made before is visible there); returns that position."""
    target = primary_lsn(primary)
    polling.wait_for(lambda: replayed_lsn(replica) >= target, f"the replica to replay up to WAL {target:X}",
                     timeout, every=0.05)
    return target


def _on_replica(sql: str, replica_url: str | None) -> str:
    """As the replica's superuser over its Unix socket, or, given a URL, as that URL's role (which
    needs EXECUTE on the replay functions: by default only superusers have it)."""
    if replica_url is None:
        return psql_admin(sql, name=NAME, port=config.PORTS["postgres-replica"]).strip()
    with psycopg.connect(replica_url, autocommit=True, connect_timeout=10) as conn:
        return str(conn.execute(sql).fetchone()[0])


def pause_state(replica_url: str | None = None) -> str:
    """"not paused", "pause requested" or "paused"."""
    return _on_replica("SELECT pg_get_wal_replay_pause_state()", replica_url)


@contextmanager
def replay_paused(replica_url: str | None = None, timeout: float = 10) -> Iterator[None]:
    """Hold the replica's replay for the block: it keeps receiving WAL but applies none, so what the
    primary commits meanwhile is not visible there until the block ends (replay resumes then, even on
    an error). Waits until the pause has taken hold, not merely been requested."""
    _on_replica("SELECT pg_wal_replay_pause()", replica_url)
    try:
        polling.wait_for(lambda: pause_state(replica_url) == "paused", "the replica's replay to pause", timeout,
                         every=0.05)
        yield
    finally:
        _on_replica("SELECT pg_wal_replay_resume()", replica_url)


def table_reads(conn: psycopg.Connection, schema: str, table: str = "projects_project") -> int:
    """Scans of a table the server behind `conn` has counted. A hot standby counts the reads run on
    it, so this proves a read reached the replica; it publishes them within about 10 s."""
    row = conn.execute("SELECT seq_scan + coalesce(idx_scan, 0) FROM pg_stat_user_tables "
                       "WHERE schemaname = %s AND relname = %s", [schema, table]).fetchone()
    return row[0]
