#!/usr/bin/env python3
"""The one source of Tenantry's Grafana dashboards and Prometheus alert rules.

    .venv/bin/python dashboards/generate.py          # write dashboards/*.json, alerts.yaml and the chart's copies
    .venv/bin/python dashboards/generate.py --check  # exit 1 naming the files that are out of date

Helm cannot read files outside the chart, so the chart gets byte-identical copies under
charts/tenantry/files/; tests/unit/test_dashboards.py fails when any file differs from this output.
"""
import json
import sys
from pathlib import Path

import yaml

from dashboards import grafana as g
from dashboards import promql as q
from dashboards.alerts import REPLICA_LAG_ALERT_SECONDS, rules

ROOT = Path(__file__).resolve().parents[1]
HERE = ROOT / "dashboards"
CHART_FILES = ROOT / "charts" / "tenantry" / "files"
PERCENTILES = (0.5, 0.95, 0.99)
# Reconciles come in bursts and on a 5-minute drift timer: ratios and percentiles over a shorter window
# flicker between values and nothing.
OPERATOR_WINDOW = "15m"


def latency_targets(histogram: str, selector: str = "", window: str = "$__rate_interval") -> list[dict]:
    return [g.target(q.quantile(p, histogram, selector, window=window), f"p{p * 100:g}") for p in PERCENTILES]


def platform_overview() -> dict:
    requests = "django_http_requests_total_by_view_transport_method_total"
    return g.dashboard("tenantry-platform-overview", "Tenantry / Platform overview",
                       "Traffic, errors, latency and saturation of the web pods, and the tenants they serve", [
        ("Traffic", [
            g.timeseries("Requests by method", "Requests per second reaching a Django view.",
                         g.target(q.sum_rate(requests, by="method"), "{{method}}"), unit="reqps", stack=True),
            g.timeseries("Responses by status", "Responses per second by HTTP status code.",
                         g.target(q.sum_rate(q.HTTP_RESPONSES, by="status"), "{{status}}"), unit="reqps",
                         stack=True),
            g.timeseries("Busiest tenants", "The ten tenants with the most requests per second (tenants past the "
                         "label cap are summed as __other__).",
                         g.target(f"topk(10, {q.sum_rate(q.TENANT_REQUESTS, by='tenant')})", "{{tenant}}"),
                         unit="reqps"),
        ]),
        ("Errors", [
            g.timeseries("5xx ratio", "Share of responses that are server errors; the TenantryHighErrorRatio "
                         "alert fires above 5%.", g.target(q.error_ratio(), "5xx"), unit="percentunit"),
            g.timeseries("Tenant responses by status class", "Per-tenant traffic by status class, summed.",
                         g.target(q.sum_rate(q.TENANT_REQUESTS, by="status_class"), "{{status_class}}"),
                         unit="reqps", stack=True),
        ]),
        ("Latency", [
            g.timeseries("Request latency", "Percentiles of the time Django views take.",
                         *latency_targets(q.HTTP_LATENCY), unit="s"),
            g.timeseries("Slowest views (p95)", "The ten views with the highest 95th percentile.",
                         g.target(f"topk(10, {q.quantile(0.95, q.HTTP_LATENCY, by='view')})", "{{view}}"), unit="s"),
            g.timeseries("Latency SLO burn rate", f"How fast the budget of the latency SLO "
                         f"({q.LATENCY_SLO_TARGET:.0%} within {q.LATENCY_SLO_SECONDS} s) is spent; 1 spends it "
                         "exactly in 30 days.", g.target(q.latency_burn_rate("1h"), "1h"),
                         g.target(q.latency_burn_rate("5m"), "5m")),
        ]),
        ("Saturation", [
            g.timeseries("Requests in flight", "Requests gunicorn workers have accepted and not yet answered: "
                         "near workers x threads per pod, new requests queue.",
                         g.target("sum(django_http_requests_before_middlewares_total) - "
                                  "sum(django_http_responses_before_middlewares_total)", "in flight")),
            g.timeseries("PgBouncer clients", "Client connections linked to a server connection, and waiting "
                         "for one (waiting means the pool is exhausted).",
                         g.target("sum(pgbouncer_pools_client_active_connections)", "active"),
                         g.target("sum(pgbouncer_pools_client_waiting_connections)", "waiting")),
            g.timeseries("Database queries", "Queries per second the web pods send, and their 95th percentile.",
                         g.target(q.sum_rate("django_db_execute_total"), "queries/s"),
                         g.target(q.quantile(0.95, "django_db_query_duration_seconds"), "p95 seconds")),
            g.timeseries("Cache hit ratio", "Share of Django cache reads that hit.",
                         g.target(f"{q.sum_rate('django_cache_get_hits_total')} / "
                                  f"{q.sum_rate('django_cache_get_total')}", "hits"), unit="percentunit"),
        ]),
        ("Tenants", [
            g.timeseries("Tenants by state", "Rows of the public tenant table by state.",
                         g.target("max by (state) (tenantry_tenants)", "{{state}}"), stack=True),
            g.timeseries("Active subscriptions by plan", "Active subscriptions per billing plan.",
                         g.target("max by (plan) (tenantry_subscriptions_active)", "{{plan}}"), stack=True),
            g.stat("Backups overdue", "Active tenants without a successful backup within "
                   "TENANTRY_BACKUP_MAX_AGE_SECONDS.", g.target("max(tenantry_backups_overdue_tenants)")),
            g.stat("Failed backup runs (24 h)", "Backup runs that failed in the last day.",
                   g.target("max(tenantry_backup_runs_failed_last_day)")),
        ]),
    ])


def tenant_drilldown() -> dict:
    tenant = 'tenant="$tenant"'
    return g.dashboard("tenantry-tenant-drilldown", "Tenantry / Tenant drill-down",
                       "One tenant's traffic, errors and latency", [
        ("Traffic", [
            g.timeseries("Requests by status class", "This tenant's requests per second.",
                         g.target(q.sum_rate(q.TENANT_REQUESTS, tenant, by="status_class"), "{{status_class}}"),
                         unit="reqps", stack=True),
            g.timeseries("Share of all tenant traffic", "This tenant's requests as a share of every tenant's.",
                         g.target(f"{q.sum_rate(q.TENANT_REQUESTS, tenant)} / {q.sum_rate(q.TENANT_REQUESTS)}",
                                  "$tenant"), unit="percentunit"),
        ]),
        ("Errors and latency", [
            g.timeseries("5xx ratio", "Share of this tenant's responses that are server errors.",
                         g.target(q.ratio(q.sum_rate(q.TENANT_REQUESTS, f'{tenant},status_class="5xx"'),
                                          q.sum_rate(q.TENANT_REQUESTS, tenant)), "5xx"), unit="percentunit"),
            g.timeseries("Request latency", "Percentiles of this tenant's request duration.",
                         *latency_targets(q.TENANT_LATENCY, tenant), unit="s"),
            g.timeseries("p95 against all tenants", "Is it this tenant, or everyone?",
                         g.target(q.quantile(0.95, q.TENANT_LATENCY, tenant), "$tenant"),
                         g.target(q.quantile(0.95, q.TENANT_LATENCY), "all tenants"), unit="s"),
        ]),
        ("Totals", [
            g.stat("Requests in range", "This tenant's requests over the dashboard's time range.",
                   g.target(f"sum(increase({q.TENANT_REQUESTS}{{{tenant}}}[$__range]))")),
            g.stat("Server errors in range", "This tenant's 5xx responses over the dashboard's time range.",
                   g.target(f'sum(increase({q.TENANT_REQUESTS}{{{tenant},status_class="5xx"}}[$__range])) '
                            "or vector(0)")),
        ]),
    ], variables=(g.query_variable("tenant", "Tenant", f"label_values({q.TENANT_REQUESTS}, tenant)"),))


def operator() -> dict:
    return g.dashboard("tenantry-operator", "Tenantry / Operator",
                       "Reconciles, errors, provisioning time, the queue of not-Ready tenants and fleet migrations", [
        ("Reconciles", [
            g.timeseries("Reconciles by result", "Reconcile passes per second by how they ended.",
                         g.target(q.sum_rate(q.RECONCILIATIONS, by="result"), "{{result}}"), unit="ops", stack=True),
            g.timeseries("Retry and failure ratio", "Share of reconciles ending in retry or failure over 15 "
                         "minutes, as the TenantryOperatorReconcileFailing alert sees it (it fires above 20%).",
                         g.target(q.reconcile_failure_ratio(OPERATOR_WINDOW), "retry or failed"), unit="percentunit"),
            g.timeseries("Reconcile duration (p95)", "95th percentile of a reconcile pass over 15 minutes, by "
                         "trigger.", g.target(q.quantile(0.95, "tenantry_operator_reconcile_duration_seconds",
                                                         by="trigger", window=OPERATOR_WINDOW), "{{trigger}}"),
                         unit="s"),
        ]),
        ("Provisioning", [
            g.timeseries("Provisioning time", "Time from a new Tenant to Ready, over the last hour (tenants "
                         "arrive rarely).",
                         *latency_targets("tenantry_operator_provisioning_duration_seconds", window="1h"), unit="s"),
            g.timeseries("Webhook admissions", "Admission reviews per second by verdict.",
                         g.target(q.sum_rate("tenantry_operator_webhook_admissions_total", by="result"), "{{result}}"),
                         unit="ops"),
            g.stat("Operator replicas up", "Operator targets Prometheus scrapes successfully.",
                   g.target('sum(up{job="operator"})')),
        ]),
        ("Not-Ready queue", [
            g.timeseries("Tenants by phase", "Tenants the operator handles, by phase.",
                         g.target("max by (phase) (tenantry_operator_tenants)", "{{phase}}"), stack=True),
            g.timeseries("Tenants not Ready", "Tenants in any phase but Ready.",
                         g.target('max(sum by (instance) (tenantry_operator_tenants{phase!="Ready"}))', "not Ready")),
            g.stat("Oldest not-Ready tenant", "How long the tenant that has been not-Ready longest has waited; the "
                   "TenantryTenantStuckNotReady alert fires after 15 minutes.",
                   g.target("max(tenantry_operator_oldest_not_ready_seconds)"), unit="s"),
        ]),
        ("Fleet migrations", [
            g.timeseries("Tenants by migration state", "Tenant schemas with every migration of the deployed code "
                         "(current), lacking some (behind), and lacking some after a failed attempt (failed); the "
                         "TenantryTenantMigrationFailed alert fires while any is failed.",
                         g.target(f"max by (state) ({q.FLEET_TENANTS})", "{{state}}"), stack=True, width=7),
            g.timeseries("Tenants by migration version", "Tenant schemas at each migration version (a digest of "
                         "the applied migrations); during a rollout they move to the deployed code's version.",
                         g.target(f"max by (version) ({q.FLEET_VERSIONS})", "{{version}}"), stack=True, width=7),
            _yes_no(g.stat("Rollout", "Running: a rollout is migrating schemas now. Held: a canary tenant failed "
                           "and no other tenant is migrated until it is fixed (the TenantryMigrationRolloutHeld "
                           "alert).", g.target(f"max({q.ROLLOUT_RUNNING})", "running"),
                           g.target(f"max({q.ROLLOUT_HELD})", "held"), width=4), alarming="B"),
            g.timeseries("Rollout rate", "Tenant schemas per second a rollout migrated, and failed to migrate.",
                         g.target(q.sum_rate(q.ROLLOUT_SCHEMAS, 'result=~"migrated|failed"', by="result"),
                                  "{{result}}"), unit="ops", stack=True, width=6),
        ]),
    ])


def _yes_no(panel: dict, alarming: str) -> dict:
    """A stat of 0/1 gauges shown as no/yes; yes is red for the target whose refId is `alarming`."""
    def mappings(yes_color: str) -> list[dict]:
        return [{"type": "value", "options": {"0": {"text": "no", "color": "green", "index": 0},
                                              "1": {"text": "yes", "color": yes_color, "index": 1}}}]
    panel["fieldConfig"]["defaults"]["mappings"] = mappings("blue")
    panel["fieldConfig"]["overrides"].append({"matcher": {"id": "byFrameRefID", "options": alarming},
                                              "properties": [{"id": "mappings", "value": mappings("red")}]})
    return panel


def data_tier() -> dict:
    return g.dashboard("tenantry-data-tier", "Tenantry / Data tier",
                       "PgBouncer pools, PostgreSQL connections, schemas and statements, replication, Redis memory "
                       "and hit ratio", [
        ("PgBouncer", [
            g.timeseries("Clients by pool", "Client connections per database, linked to a server connection.",
                         g.target("sum by (database) (pgbouncer_pools_client_active_connections)", "{{database}}"),
                         stack=True),
            g.timeseries("Waiting clients", "Client connections queueing for a server connection; the "
                         "TenantryPgBouncerClientsWaiting alert fires when this stays above 0.",
                         g.target("sum by (database) (pgbouncer_pools_client_waiting_connections)", "{{database}}"),
                         g.target("max(pgbouncer_pools_client_maxwait_seconds)", "longest wait (s)")),
            g.timeseries("Server connections", "Server connections to PostgreSQL in use and idle, against the "
                         "pool size.",
                         g.target("sum(pgbouncer_pools_server_active_connections)", "active"),
                         g.target("sum(pgbouncer_pools_server_idle_connections)", "idle"),
                         g.target('sum(pgbouncer_databases_pool_size{database!="pgbouncer"})', "pool size")),
            g.stat("Exporters up", "Data-tier exporters Prometheus scrapes successfully.",
                   g.target('sum by (job) (up{job=~"postgres|pgbouncer|redis"})', "{{job}}")),
        ]),
        ("PostgreSQL", [
            g.timeseries("Connections by state", "Server backends by state (all databases).",
                         g.target("sum by (state) (pg_stat_activity_count)", "{{state}}"), stack=True),
            g.timeseries("Connection use", "Backends as a share of max_connections.",
                         g.target("sum(pg_stat_activity_count) / max(pg_settings_max_connections)", "used"),
                         unit="percentunit"),
            g.timeseries("Schemas", "Schemas named by a tenant row, and the others (public, the template).",
                         g.target("max by (kind) (tenantry_schemas_count)", "{{kind}}"), stack=True),
            g.timeseries("Database size", "Size of each application database.",
                         g.target('max by (datname) (pg_database_size_bytes{datname!~"postgres|template.*"})',
                                  "{{datname}}"), unit="bytes"),
        ]),
        ("Statements", [
            g.timeseries("Statements by time", "The ten statements of the database that spent the most time "
                         "executing, in seconds per second, from pg_stat_statements (constants replaced by "
                         "placeholders; the exporter reads the top 20 by total time).",
                         g.target(f"topk(10, {q.sum_rate(q.STATEMENT_SECONDS, by='queryid, query')})", "{{query}}"),
                         unit="s"),
            g.timeseries("Statements by calls", "The ten statements executed most often, in calls per second, "
                         "among the exporter's top 20 by total time.",
                         g.target(f"topk(10, {q.sum_rate(q.STATEMENT_CALLS, by='queryid, query')})", "{{query}}"),
                         unit="ops"),
        ]),
        ("Replication", [
            g.stat("Replicas streaming", "Streaming replicas connected to the primary; the TenantryReplicaDown "
                   "alert fires when a replication slot has had none for 2 minutes.",
                   g.target(f"max({q.REPLICAS_STREAMING})"), width=4),
            g.timeseries("Replica lag", "Seconds between a commit on the primary and its replay on each replica "
                         "(0 when caught up, or without replicas); the TenantryReplicaLagging alert fires above "
                         f"{REPLICA_LAG_ALERT_SECONDS} s.",
                         g.target(q.or_zero(f"max by (application_name) ({q.REPLICA_LAG_SECONDS})"),
                                  "{{application_name}}"), unit="s", width=10),
            g.timeseries("WAL not replayed", "Bytes of WAL each replica has still to replay, and the WAL the "
                         "primary keeps for each replication slot (it grows while a replica is away).",
                         g.target(q.or_zero(f"max by (application_name) ({q.REPLICA_LAG_BYTES})"),
                                  "{{application_name}}"),
                         g.target(q.or_zero(f"max by (slot_name) ({q.SLOT_RETAINED_BYTES})"), "kept for {{slot_name}}"),
                         unit="bytes", width=10),
        ]),
        ("Redis", [
            g.timeseries("Memory", "Memory in use against maxmemory (keys are evicted past it).",
                         g.target("sum(redis_memory_used_bytes)", "used"),
                         g.target("sum(redis_memory_max_bytes)", "max"), unit="bytes"),
            g.timeseries("Hit ratio", "Share of key lookups that hit.",
                         g.target("sum(rate(redis_keyspace_hits_total[$__rate_interval])) / "
                                  "(sum(rate(redis_keyspace_hits_total[$__rate_interval])) + "
                                  "sum(rate(redis_keyspace_misses_total[$__rate_interval])))", "hits"),
                         unit="percentunit"),
            g.timeseries("Clients", "Connected Redis clients.", g.target("sum(redis_connected_clients)", "clients")),
        ]),
    ])


DASHBOARDS = {"platform-overview": platform_overview, "tenant-drilldown": tenant_drilldown, "operator": operator,
              "data-tier": data_tier}


class _RulesDumper(yaml.SafeDumper):
    """Multi-line PromQL as literal blocks, so the rules file reads like a hand-written one."""


_RulesDumper.add_representer(str, lambda dumper, text: dumper.represent_scalar(
    "tag:yaml.org,2002:str", text, style="|" if "\n" in text else None))


def alerts_yaml() -> str:
    header = f"# {g.GENERATED} (rules in dashboards/alerts.py; runbooks in docs/runbooks.md)\n"
    return header + yaml.dump(rules(), Dumper=_RulesDumper, sort_keys=False, width=120, allow_unicode=True)


def outputs() -> dict[Path, str]:
    """Every generated file and its content, the chart's copies included."""
    dashboards = {f"{name}.json": json.dumps(build(), indent=2, ensure_ascii=False) + "\n"
                  for name, build in DASHBOARDS.items()}
    alerts = alerts_yaml()
    return {**{HERE / name: text for name, text in dashboards.items()},
            **{CHART_FILES / "dashboards" / name: text for name, text in dashboards.items()},
            HERE / "alerts.yaml": alerts, CHART_FILES / "alerts.yaml": alerts}


def main(argv: list[str]) -> int:
    files = outputs()
    stale = [path for path, text in files.items() if not path.exists() or path.read_text() != text]
    if "--check" in argv:
        for path in stale:
            print(f"out of date: {path.relative_to(ROOT)} (run dashboards/generate.py)", file=sys.stderr)
        return 1 if stale else 0
    for path in stale:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(files[path])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
