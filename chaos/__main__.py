"""`make chaos`: each fault in turn against the running `make up` platform, under a bounded API load
on the demo tenants, then a table. Exit status 1 when a write was lost or duplicated or a Tenant did
not converge. The load's projects and the Tenants made for the operator fault are removed afterwards.

    make chaos [CHAOS_ARGS="--faults worker,pgbouncer,redis,redis-primary --clients 4"]
    PYTHONPATH=devenv .venv/bin/python -m chaos [--faults ...] [--clients N] [--settle SECONDS]
"""
import sys

from localplatform import config
from localplatform.components import pgbouncer, postgres, redis
from localplatform.proc import read_pid
from localplatform.replica import postgres_replica
from localplatform.sentinel import PLATFORM as REDIS_SET
from localplatform.stack import app_components, kubectl

from . import convergence, faults
from .drill import Fault
from .run import Platform, main

DIRECT = config.database_url(config.PORTS["postgres"], config.DB_NAME)
REPLICA_DOWN_SECONDS = 10


def make_up_faults(chosen: list[str], names: list[str]) -> list[Fault]:
    """The faults of `chosen`, acting on `make up`'s processes; the operator fault applies `names`."""
    operator, web = app_components()

    def converged() -> convergence.Convergence:
        return convergence.converged(config.NAMESPACE, DIRECT)

    def operator_converged() -> convergence.Convergence:
        convergence.wait_ready(config.NAMESPACE, names)
        return converged()

    every = {
        "worker": Fault("kill -9 a gunicorn worker", lambda: faults.kill_worker(web), converged),
        "pgbouncer": Fault("restart PgBouncer", lambda: faults.restart(pgbouncer()), converged),
        "redis": Fault("restart Redis", lambda: faults.restart(redis()), converged),
        "postgres": Fault("fast-restart PostgreSQL", lambda: faults.restart(postgres()), converged),
        "operator": Fault(f"kill -9 the operator provisioning {len(names)} Tenants",
                          lambda: f"{faults.kill_operator_while_provisioning(operator, config.NAMESPACE, names)} "
                                  f"of {len(names)} Tenants were not Ready when the operator died",
                          operator_converged),
        "pool": Fault("fill the PgBouncer pool with pg_sleep(8) clients",
                      lambda: faults.fill_pool(pgbouncer(), config.DB_NAME, 8), converged),
        # The app reads the primary while the read replica is away; the slot keeps its WAL.
        "replica": Fault(f"stop the PostgreSQL read replica for {REPLICA_DOWN_SECONDS} s",
                         lambda: faults.stop_replica(postgres_replica(), REPLICA_DOWN_SECONDS), converged),
        # Sentinel promotes the replica; the killed one comes back as its replica.
        "redis-primary": Fault("Redis primary killed", lambda: faults.kill_redis_primary(REDIS_SET), converged),
    }
    return [every[key] for key in chosen]


MAKE_UP = Platform(name="`make up`", port=config.PORTS["web"], database_url=DIRECT, namespace=config.NAMESPACE,
                   kubectl=kubectl,
                   fault_names=("worker", "pgbouncer", "redis", "postgres", "operator", "pool", "redis-primary",
                                "replica"),
                   faults=make_up_faults, running=lambda: read_pid("web") is not None)

if __name__ == "__main__":
    sys.exit(main(MAKE_UP, __doc__))
