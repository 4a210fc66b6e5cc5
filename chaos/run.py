"""The chaos run both platforms share: sign in at the demo tenants, start the API load, inject each
chosen fault in turn (drill), print the table and the ledger's verdict, and clean up. Exit status 1
when a write was lost or duplicated, a fault failed, or a Tenant did not converge."""
import argparse
import secrets
import sys
from collections.abc import Callable
from dataclasses import dataclass

import psycopg

from .convergence import Kubectl
from .drill import Fault, run_all, table
from .ledger import LedgerCheck, check, stored_writes
from .load import Load, Writer, api, demo_readers, demo_writers

OPERATOR_TENANTS = 4


@dataclass(frozen=True)
class Platform:
    """Where the load goes and the faults act: `make up`'s processes or the node's pods."""
    name: str
    port: int  # gunicorn's, or the ingress controller's
    database_url: str  # direct, for the ledger and the convergence check
    namespace: str
    kubectl: Kubectl
    fault_names: tuple[str, ...]
    faults: Callable[[list[str], list[str]], list[Fault]]  # (chosen, Tenant names to apply) -> faults
    running: Callable[[], bool]


def clean_up(platform: Platform, writers: list[Writer], prefix: str, names: list[str]) -> None:
    """The Tenants a fault applied and the projects the load made go again."""
    platform.kubectl("-n", platform.namespace, "delete", "tenants", *names, "--ignore-not-found", "--timeout=180s")
    with psycopg.connect(platform.database_url, autocommit=True) as conn:
        for writer in writers:
            query = f'SELECT id FROM "{writer.schema}".projects_project WHERE name LIKE %s'
            for (pk,) in conn.execute(query, [prefix + "%"]).fetchall():
                api(platform.port, "DELETE", writer.host, f"/api/v1/projects/{pk}/", token=writer.token)


def main(platform: Platform, doc: str) -> int:
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--faults", default=",".join(platform.fault_names),
                        help=f"comma-separated, in order (default: all): {','.join(platform.fault_names)}")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--settle", type=float, default=3.0, help="seconds of load after each recovery")
    args = parser.parse_args()
    if not platform.running():
        raise SystemExit(f"chaos: {platform.name} is not running")
    chosen_names = args.faults.split(",")
    unknown = set(chosen_names) - set(platform.fault_names)
    if unknown:
        raise SystemExit(f"unknown faults {sorted(unknown)}; choose from {','.join(platform.fault_names)}")
    run_id = secrets.token_hex(3)
    prefix = f"chaos-{run_id}-"
    names = [f"chaos-{run_id}-{n}" for n in range(OPERATOR_TENANTS)]
    chosen = platform.faults(chosen_names, names)
    writers = demo_writers(platform.port, platform.database_url)

    def ledger_check() -> LedgerCheck:
        return check(load.ledger.snapshot(), stored_writes(platform.database_url, [w.schema for w in writers], prefix))

    readers = demo_readers(platform.port)
    with Load(platform.port, writers, prefix, clients=args.clients, readers=readers) as load:
        print(f"chaos: {len(chosen)} faults on {platform.name} under {args.clients} API clients and "
              f"{len(readers)} CSV export readers on {', '.join(w.host for w in writers)} (run {run_id})",
              file=sys.stderr)
        rows = run_all(chosen, load, ledger_check, settle=args.settle,
                       on_row=lambda row: print(f"chaos: done: {row.fault} {row.note}", file=sys.stderr))
    final = ledger_check()
    print(table(rows))
    print(f"\n{final.acknowledged} writes acknowledged in all; lost {len(final.lost)}, "
          f"duplicated {len(final.duplicated)} (run {run_id}, {args.clients} clients on "
          f"{', '.join(w.host for w in writers)})")
    clean_up(platform, writers, prefix, names)
    return 0 if all(r.ok for r in rows) and not final.lost and not final.duplicated else 1
