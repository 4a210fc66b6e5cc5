"""`make cluster-bench`: a tenant's home page through Traefik to the node's web pods, beside the same
page from `make up`'s gunicorn, round after round in one run, the two in turn so that whatever else
the shared machine does falls on both. Needs `make up` and `make cluster` running.

Both serve the demo tenant acme with its demo data from a PostgreSQL behind PgBouncer in transaction
mode. `make up`: one gunicorn (2 workers x 4 threads) on loopback. The node: Traefik, then two web
pods (2 workers x 2 threads each, the chart's defaults), PgBouncer pods, on the same two cores.
"""
import http.client
import sys

from bench.request_path import drive
from bench.table import Row, exit_code, format_table, median, rotated
from localplatform import config

HOST = "acme.localhost"
PATHS = {"make up: gunicorn": config.PORTS["web"],
         "make cluster: Traefik -> web pods": config.CLUSTER_PORTS["ingress"]}
ROUNDS, SECONDS, USERS = 3, 8, 8


def serves(port: int) -> bool:
    connection = http.client.HTTPConnection(config.HOST, port, timeout=10)
    try:
        connection.request("GET", "/", headers={"Host": HOST})
        response = connection.getresponse()
        return response.status == 200 and "Acme" in response.read().decode(errors="replace")
    except OSError:
        return False
    finally:
        connection.close()


def main() -> int:
    missing = [label for label, port in PATHS.items() if not serves(port)]
    if missing:
        print(f"error: {', '.join(missing)} does not serve {HOST}: run `make up` and `make cluster` first",
              file=sys.stderr)
        return 1
    results = {label: [] for label in PATHS}
    for turn in range(ROUNDS):
        for label, port in rotated(list(PATHS.items()), turn):
            results[label].append(drive(port, "/", SECONDS, users=USERS, host=HOST))
    rows = []
    for label, runs in results.items():
        failures = sum(r.failures for r in runs)
        rows += [Row(f"{label}: requests/s", f"{median([r.rps for r in runs]):.0f}"),
                 Row(f"{label}: p95 ms", f"{median([r.p95_ms for r in runs]):.0f}"),
                 Row(f"{label}: failed requests", f"{failures} of {sum(r.requests for r in runs)}",
                     "0", "PASS" if failures == 0 else "MISS")]
    up, node = (median([r.rps for r in runs]) for runs in results.values())
    rows.append(Row("node / make up, requests/s", f"{node / up:.2f}"))
    print(f"{HOST} home page, {USERS} connections, {ROUNDS} rounds of {SECONDS} s each, medians")
    print(format_table(rows))
    return exit_code(rows, [], strict=True)  # its one target: no request fails


if __name__ == "__main__":
    sys.exit(main())
