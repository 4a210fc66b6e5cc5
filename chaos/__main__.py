"""`make chaos`: each fault in turn against the running `make up` platform, under a bounded API load
on the demo tenants, then a table. Exit status 1 when a write was lost or duplicated or a Tenant did
not converge. The load's projects and the Tenants made for the operator fault are removed afterwards.

    make chaos [CHAOS_ARGS="--faults worker,pgbouncer,redis --clients 4"]
    PYTHONPATH=devenv .venv/bin/python -m chaos [--faults ...] [--clients N] [--settle SECONDS]
"""
import argparse
import http.client
import json
import secrets
import sys

import psycopg

from localplatform import config
from localplatform.components import pgbouncer, postgres, redis
from localplatform.proc import PlatformError, read_pid
from localplatform.stack import DEMO_PASSWORD, DEMO_TENANTS, app_components, kubectl

from . import convergence, faults
from .drill import Fault, run_all, table
from .ledger import LedgerCheck, check, stored_writes
from .load import Load, Writer

DIRECT = config.database_url(config.PORTS["postgres"], config.DB_NAME)
FAULTS = ("worker", "pgbouncer", "redis", "postgres", "operator", "pool")
OPERATOR_TENANTS = 4


def api(method: str, host: str, path: str, body: dict | None = None, token: str | None = None) -> tuple[int, dict]:
    conn = http.client.HTTPConnection(config.HOST, config.PORTS["web"], timeout=20)
    headers = {"Host": f"{host}:{config.PORTS['web']}", "Content-Type": "application/json",
               **({"Authorization": f"Token {token}"} if token else {})}
    try:
        conn.request(method, path, body=json.dumps(body) if body else None, headers=headers)
        response = conn.getresponse()
        text = response.read()
        return response.status, json.loads(text) if text else {}
    finally:
        conn.close()


def demo_writers() -> list[Writer]:
    """The demo tenants, signed in as their owners (the password `make up` sets)."""
    writers = []
    with psycopg.connect(DIRECT, autocommit=True) as conn:
        for name in DEMO_TENANTS:
            host = f"{name}.{config.BASE_DOMAIN}"
            [schema] = conn.execute("SELECT t.schema_name FROM tenancy_domain d JOIN tenancy_tenant t "
                                    "ON t.id = d.tenant_id WHERE d.domain = %s", [host]).fetchone()
            status, body = api("POST", host, "/api/v1/auth/token/",
                               {"email": f"owner@{name}.example.com", "password": DEMO_PASSWORD})
            if status != 200:
                raise PlatformError(f"chaos: cannot sign in as the owner of {host} ({status} {body}); run `make up`")
            writers.append(Writer(host, schema, body["token"]))
    return writers


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
    }
    unknown = set(chosen) - set(every)
    if unknown:
        raise SystemExit(f"unknown faults {sorted(unknown)}; choose from {','.join(every)}")
    return [every[key] for key in chosen]


def clean_up(writers: list[Writer], prefix: str, names: list[str]) -> None:
    kubectl("-n", config.NAMESPACE, "delete", "tenants", *names, "--ignore-not-found", "--timeout=180s")
    with psycopg.connect(DIRECT, autocommit=True) as conn:
        for writer in writers:
            query = f'SELECT id FROM "{writer.schema}".projects_project WHERE name LIKE %s'
            for (pk,) in conn.execute(query, [prefix + "%"]).fetchall():
                api("DELETE", writer.host, f"/api/v1/projects/{pk}/", token=writer.token)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--faults", default=",".join(FAULTS), help=f"comma-separated, in order (default: all): "
                                                                   f"{','.join(FAULTS)}")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--settle", type=float, default=3.0, help="seconds of load after each recovery")
    args = parser.parse_args()
    if read_pid("web") is None:
        raise SystemExit("chaos: the web app of `make up` is not running; run `make up` first")
    run_id = secrets.token_hex(3)
    prefix = f"chaos-{run_id}-"
    names = [f"chaos-{run_id}-{n}" for n in range(OPERATOR_TENANTS)]
    chosen = make_up_faults(args.faults.split(","), names)
    writers = demo_writers()

    def ledger_check() -> LedgerCheck:
        return check(load.ledger.snapshot(), stored_writes(DIRECT, [w.schema for w in writers], prefix))

    with Load(config.PORTS["web"], writers, prefix, clients=args.clients) as load:
        print(f"chaos: {len(chosen)} faults under {args.clients} API clients on "
              f"{', '.join(w.host for w in writers)} (run {run_id})", file=sys.stderr)
        rows = run_all(chosen, load, ledger_check, settle=args.settle,
                       on_row=lambda row: print(f"chaos: done: {row.fault} {row.note}", file=sys.stderr))
    final = ledger_check()
    print(table(rows))
    print(f"\n{final.acknowledged} writes acknowledged in all; lost {len(final.lost)}, "
          f"duplicated {len(final.duplicated)} (run {run_id}, {args.clients} clients on "
          f"{', '.join(w.host for w in writers)})")
    clean_up(writers, prefix, names)
    return 0 if all(r.ok for r in rows) and not final.lost and not final.duplicated else 1


if __name__ == "__main__":
    sys.exit(main())
