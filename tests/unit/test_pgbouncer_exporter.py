"""The local PgBouncer exporter turns SHOW rows into prometheus-community's metric names and units."""
from decimal import Decimal

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from localplatform.pgbouncer_exporter import PgBouncerCollector, families

ROWS = {
    "VERSION": [{"version": "PgBouncer 1.18.0"}],
    "LISTS": [{"list": "databases", "items": 2}, {"list": "used_clients", "items": 7},
              {"list": "a_list_we_do_not_know", "items": 1}],
    "CONFIG": [{"key": "max_client_conn", "value": "2000", "default": "100", "changeable": "yes"},
               {"key": "admin_users", "value": "tenantry", "default": "", "changeable": "yes"}],
    "STATS": [{"database": "tenantry", "total_query_count": Decimal(2456), "total_query_time": Decimal(954485),
               "total_received": Decimal(10), "total_sent": Decimal(20), "total_wait_time": Decimal(70458),
               "total_xact_count": Decimal(360), "total_xact_time": Decimal(4105475)}],
    "POOLS": [{"database": "tenantry", "user": "tenantry", "cl_active": 3, "cl_waiting": 2, "sv_active": 3,
               "sv_idle": 1, "sv_used": 0, "sv_tested": 0, "sv_login": 0, "maxwait": 4, "pool_mode": "transaction"}],
    "DATABASES": [{"name": "tenantry", "host": "127.0.0.1", "port": 15432, "database": "tenantry", "force_user": None,
                   "pool_size": 20, "reserve_pool": 5, "pool_mode": None, "max_connections": 0,
                   "current_connections": 4, "paused": 0, "disabled": 0}],
}


def samples() -> dict[tuple[str, tuple], float]:
    registry = CollectorRegistry()

    class Fixed:
        def collect(self):
            return families(ROWS)

    registry.register(Fixed())
    text = generate_latest(registry).decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_pool_gauges_carry_database_and_user():
    got = samples()
    pool = (("database", "tenantry"), ("user", "tenantry"))
    assert got[("pgbouncer_pools_client_waiting_connections", pool)] == 2
    assert got[("pgbouncer_pools_client_active_connections", pool)] == 3
    assert got[("pgbouncer_pools_client_maxwait_seconds", pool)] == 4


def test_stats_are_counters_in_seconds():
    got = samples()
    db = (("database", "tenantry"),)
    assert got[("pgbouncer_stats_queries_pooled_total", db)] == 2456
    assert got[("pgbouncer_stats_queries_duration_seconds_total", db)] == 0.954485
    assert got[("pgbouncer_stats_client_wait_seconds_total", db)] == 0.070458


def test_lists_config_databases_and_version():
    got = samples()
    assert got[("pgbouncer_databases", ())] == 2 and got[("pgbouncer_used_clients", ())] == 7
    assert got[("pgbouncer_config_max_client_connections", ())] == 2000
    assert ("pgbouncer_config_admin_users", ()) not in got
    assert got[("pgbouncer_version_info", (("version", "PgBouncer 1.18.0"),))] == 1
    labels = (("database", "tenantry"), ("force_user", ""), ("host", "127.0.0.1"), ("name", "tenantry"),
              ("pool_mode", ""), ("port", "15432"))
    assert got[("pgbouncer_databases_pool_size", labels)] == 20


def test_an_unreachable_pgbouncer_is_up_zero_not_an_error():
    registry = CollectorRegistry()
    registry.register(PgBouncerCollector("postgresql://nobody@127.0.0.1:1/pgbouncer"))
    assert registry.get_sample_value("pgbouncer_up") == 0
