"""The streaming read replica of the local platform (localplatform.replica): a hot standby cloned
from the primary with pg_basebackup, streaming its WAL through the slot `tenantry_replica`, with a
PgBouncer of its own. What the primary commits shows up there, in every database (this run's too);
a paused replay holds it back and the lag shows it; the replica refuses writes."""
import uuid

import psycopg
import pytest

from localplatform import config
from localplatform.components import app_env
from testkit import polling
from testkit.net import direct
from testkit.replication import (
    lag_bytes,
    pause_state,
    primary_lsn,
    received_lsn,
    replay_paused,
    replica_direct,
    wait_replayed,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def scratch_table(database):
    """A table of this run's database, on the primary: (primary, replica, table name)."""
    table = f"replica_probe_{uuid.uuid4().hex[:8]}"
    with direct(database) as primary, replica_direct(database) as replica:
        primary.execute(f"CREATE TABLE {table} (id int PRIMARY KEY, note text NOT NULL)")
        try:
            yield primary, replica, table
        finally:
            primary.execute(f"DROP TABLE {table}")


def test_the_replica_is_a_streaming_hot_standby_of_the_primary(services):
    with replica_direct() as replica:
        assert replica.execute("SELECT pg_is_in_recovery()").fetchone()[0] is True
        assert replica.execute("SELECT status, slot_name FROM pg_stat_wal_receiver").fetchone() == \
            ("streaming", config.REPLICATION_SLOT)
    with direct() as primary:
        # As the application role, which the exporter connects as: pg_read_all_stats shows it the state.
        rows = primary.execute("SELECT application_name, state FROM pg_stat_replication").fetchall()
        assert ("postgres-replica", "streaming") in rows
        assert primary.execute("SELECT active FROM pg_replication_slots WHERE slot_name = %s",
                               [config.REPLICATION_SLOT]).fetchone() == (True,)


def test_this_runs_database_made_on_the_primary_is_on_the_replica(database):
    with replica_direct("postgres") as replica:
        assert replica.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone() == (1,)


def test_a_row_committed_on_the_primary_is_read_on_the_replica_and_through_its_pgbouncer(scratch_table, database):
    primary, replica, table = scratch_table
    primary.execute(f"INSERT INTO {table} VALUES (1, 'streamed')")
    wait_replayed(primary, replica)
    assert replica.execute(f"SELECT note FROM {table}").fetchall() == [("streamed",)]
    # The URL the web app gets when pooled: the replica's own PgBouncer, in transaction mode.
    pooled = app_env(database, pooled=True)["TENANTRY_DATABASE_REPLICA_URL"]
    assert f":{config.PORTS['pgbouncer-replica']}/" in pooled
    with psycopg.connect(pooled, autocommit=True, connect_timeout=10) as through_pool:
        assert through_pool.execute(f"SELECT pg_is_in_recovery(), (SELECT note FROM {table})").fetchone() == \
            (True, "streamed")


def test_the_replica_refuses_writes(scratch_table):
    primary, replica, table = scratch_table
    wait_replayed(primary, replica)
    with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
        replica.execute(f"INSERT INTO {table} VALUES (1, 'nope')")


def test_a_paused_replay_hides_new_commits_until_it_resumes(scratch_table):
    primary, replica, table = scratch_table
    wait_replayed(primary, replica)
    with replay_paused():
        assert pause_state() == "paused"
        primary.execute(f"INSERT INTO {table} VALUES (2, 'held back')")
        committed = primary_lsn(primary)
        # The stream goes on: the commit reaches the replica, which does not apply it.
        polling.wait_for(lambda: received_lsn(replica) >= committed, "the replica to receive the commit", 10,
                         every=0.05)
        assert replica.execute(f"SELECT count(*) FROM {table}").fetchone() == (0,)
        assert lag_bytes(primary, replica) > 0
    assert pause_state() == "not paused"
    wait_replayed(primary, replica)
    assert replica.execute(f"SELECT note FROM {table}").fetchall() == [("held back",)]
