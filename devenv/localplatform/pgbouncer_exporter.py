"""A PgBouncer exporter for the local platform, exposing the metric names of prometheus-community's
pgbouncer_exporter 0.10 (the chart's sidecar), so one set of dashboards and alerts reads both.

Why not a packaged exporter: Debian's prometheus-pgbouncer-exporter 1.7 dies at start against PgBouncer
1.8 and later (it reads SHOW STATS' `total_requests`, which 1.8 removed); the PyPI one (2.1.2) pins
psycopg2 2.8.5, which does not compile on Python 3.11; prometheus-community's is on neither Debian nor
the Go module proxy. Unlike the rest of `localplatform` this runs under the project's virtualenv
(psycopg, prometheus-client): `python -m localplatform.pgbouncer_exporter --dsn ... --port ...`.

It answers to prometheus-community's flag names as well (`--pgBouncer.connectionString`,
`--web.listen-address`), so `make cluster` runs it as the chart's exporter sidecar, in an image of
its own made from Tenantry's (which has psycopg and prometheus-client).

Each scrape opens one connection to PgBouncer's admin console, so a restarted PgBouncer shows up as
`pgbouncer_up 0` for one scrape instead of a dead exporter.
"""
import argparse
import logging
import threading
from collections.abc import Iterable, Iterator

import psycopg
from prometheus_client import start_http_server
from prometheus_client.core import REGISTRY, CounterMetricFamily, GaugeMetricFamily, Metric

MICROSECONDS = 1_000_000  # per second
# SHOW <command> -> metric subsystem, label columns, {column: (metric name, divisor, counter?, help)}.
TABLES = {
    "STATS": ("stats", ("database",), {
        "total_query_count": ("queries_pooled_total", 1, True, "Total number of SQL queries pooled"),
        "total_query_time": ("queries_duration_seconds_total", MICROSECONDS, True,
                             "Total seconds spent by pgbouncer actively connected to PostgreSQL, executing queries"),
        "total_received": ("received_bytes_total", 1, True, "Total bytes of network traffic received by pgbouncer"),
        "total_sent": ("sent_bytes_total", 1, True, "Total bytes of network traffic sent by pgbouncer"),
        "total_wait_time": ("client_wait_seconds_total", MICROSECONDS, True,
                            "Seconds clients spent waiting for a server"),
        "total_xact_count": ("sql_transactions_pooled_total", 1, True, "Total number of SQL transactions pooled"),
        "total_xact_time": ("server_in_transaction_seconds_total", MICROSECONDS, True,
                            "Total seconds spent by pgbouncer connected to PostgreSQL in a transaction"),
    }),
    "POOLS": ("pools", ("database", "user"), {
        "cl_active": ("client_active_connections", 1, False, "Client connections linked to a server connection"),
        "cl_waiting": ("client_waiting_connections", 1, False, "Client connections waiting on a server connection"),
        "sv_active": ("server_active_connections", 1, False, "Server connections linked to a client connection"),
        "sv_idle": ("server_idle_connections", 1, False, "Server connections idle and ready for a client query"),
        "sv_used": ("server_used_connections", 1, False, "Server connections idle more than server_check_delay"),
        "sv_tested": ("server_testing_connections", 1, False, "Server connections running a reset or check query"),
        "sv_login": ("server_login_connections", 1, False, "Server connections currently logging in"),
        "maxwait": ("client_maxwait_seconds", 1, False, "Age of the oldest unserved client connection"),
    }),
    "DATABASES": ("databases", ("name", "host", "port", "database", "force_user", "pool_mode"), {
        "pool_size": ("pool_size", 1, False, "Maximum number of server connections"),
        "reserve_pool": ("reserve_pool", 1, False, "Maximum number of additional connections for this database"),
        "max_connections": ("max_connections", 1, False, "Maximum number of allowed connections for this database"),
        "current_connections": ("current_connections", 1, False, "Current number of connections for this database"),
        "paused": ("paused", 1, False, "1 if this database is currently paused, else 0"),
        "disabled": ("disabled", 1, False, "1 if this database is currently disabled, else 0"),
    }),
}
# SHOW LISTS and SHOW CONFIG are key/value rows: {key: metric name}.
LISTS = {"databases": "databases", "users": "users", "pools": "pools", "free_clients": "free_clients",
         "used_clients": "used_clients", "login_clients": "login_clients", "free_servers": "free_servers",
         "used_servers": "used_servers", "dns_names": "cached_dns_names", "dns_zones": "cached_dns_zones",
         "dns_queries": "in_flight_dns_queries"}
CONFIG = {"max_client_conn": "config_max_client_connections", "max_user_connections": "config_max_user_connections"}
COMMANDS = ("VERSION", "LISTS", "CONFIG", *TABLES)


def table_families(command: str, rows: list[dict]) -> Iterator[Metric]:
    """The families of one SHOW command whose rows are objects (a pool, a database)."""
    subsystem, labels, columns = TABLES[command]
    for column, (name, divisor, counter, help_text) in columns.items():
        kind = CounterMetricFamily if counter else GaugeMetricFamily
        family = kind(f"pgbouncer_{subsystem}_{name}", help_text, labels=labels)
        for row in rows:
            if row.get(column) is not None:
                family.add_metric([str(row.get(label) or "") for label in labels], float(row[column]) / divisor)
        yield family


def families(results: dict[str, list[dict]]) -> Iterator[Metric]:
    """Every family, from the rows of each SHOW command (as dicts of column -> value)."""
    version = GaugeMetricFamily("pgbouncer_version_info", "The pgbouncer version info", labels=["version"])
    for row in results["VERSION"]:
        version.add_metric([row["version"]], 1)
    yield version
    lists = {row["list"]: row["items"] for row in results["LISTS"]}
    for key, name in LISTS.items():
        if key in lists:
            yield GaugeMetricFamily(f"pgbouncer_{name}", f"Count of {key.replace('_', ' ')}", value=float(lists[key]))
    config = {row["key"]: row["value"] for row in results["CONFIG"]}
    for key, name in CONFIG.items():
        if key in config:
            yield GaugeMetricFamily(f"pgbouncer_{name}", f"PgBouncer's {key} setting", value=float(config[key]))
    for command in TABLES:
        yield from table_families(command, results[command])


def show(dsn: str, commands: Iterable[str]) -> dict[str, list[dict]]:
    # The admin console speaks only the simple query protocol: a client-side binding cursor uses it.
    with psycopg.connect(dsn, autocommit=True, cursor_factory=psycopg.ClientCursor, connect_timeout=3) as conn:
        results = {}
        for command in commands:
            cursor = conn.execute(f"SHOW {command}")
            names = [column.name for column in cursor.description]
            results[command] = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        return results


class PgBouncerCollector:
    def __init__(self, dsn: str):
        self.dsn = dsn

    def collect(self) -> Iterator[Metric]:
        try:
            found = list(families(show(self.dsn, COMMANDS)))
        except (psycopg.Error, OSError) as err:
            logging.warning("scrape of PgBouncer failed: %s", err)
            found = []
        yield from found
        yield GaugeMetricFamily("pgbouncer_up", "The pgbouncer scrape succeeded", value=1 if found else 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    # prometheus-community's flag names too, so the chart's exporter sidecar can run this one.
    parser.add_argument("--dsn", "--pgBouncer.connectionString", dest="dsn", required=True,
                        help="libpq URL of PgBouncer's admin database `pgbouncer`")
    parser.add_argument("--addr", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9127)
    parser.add_argument("--web.listen-address", dest="listen", help="[host]:port, instead of --addr and --port")
    args = parser.parse_args()
    if args.listen:
        host, _, port = args.listen.rpartition(":")
        args.addr, args.port = host or "0.0.0.0", int(port)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    REGISTRY.register(PgBouncerCollector(args.dsn))
    start_http_server(args.port, addr=args.addr)
    logging.info("serving PgBouncer metrics on http://%s:%d/metrics", args.addr, args.port)
    threading.Event().wait()


if __name__ == "__main__":
    main()
