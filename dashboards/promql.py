"""PromQL shared by the dashboards and the alert rules, with the settings they agree on (the SLO, the
PgBouncer exporters' names) kept in one place, as kubernetes-mixin does.

Metric names are the agreed ones: django-prometheus and `tenantry_*` families from the web pods,
`tenantry_operator_*` from the operator, Debian's postgres and redis exporters (pg_*, redis_*),
prometheus-community's pgbouncer_exporter names (pgbouncer_*: the chart's sidecar, and the local
platform's localplatform/pgbouncer_exporter.py) and `tenantry_schemas_count`, the replication
families (`tenantry_replication_*`, `tenantry_replicas_streaming`) and the statements
(`tenantry_statements_*`) from postgres-exporter-queries.yaml.
"""

# The latency SLO: this share of requests is served within LATENCY_SLO_SECONDS (a bucket boundary of
# django-prometheus' default latency buckets, so the ratio is exact, not interpolated).
LATENCY_SLO_TARGET = 0.99
LATENCY_SLO_SECONDS = "0.5"

HTTP_RESPONSES = "django_http_responses_total_by_status_view_method_total"
HTTP_LATENCY = "django_http_requests_latency_seconds_by_view_method"
TENANT_REQUESTS = "tenantry_tenant_requests_total"
TENANT_LATENCY = "tenantry_tenant_request_duration_seconds"
RECONCILIATIONS = "tenantry_operator_reconciliations_total"
# Fleet migrations (the operator's survey of every tenant schema, and its rollouts).
FLEET_TENANTS = "tenantry_operator_fleet_tenants"
FLEET_VERSIONS = "tenantry_operator_fleet_tenants_by_version"
ROLLOUT_RUNNING = "tenantry_operator_rollout_running"
ROLLOUT_HELD = "tenantry_operator_rollout_held"
ROLLOUT_SCHEMAS = "tenantry_operator_rollout_schemas_total"
ROLLOUT_PROGRESS = "tenantry_operator_rollout_last_progress_timestamp_seconds"
# Streaming replicas, as the primary sees them (postgres-exporter-queries.yaml).
REPLICA_LAG_SECONDS = "tenantry_replication_replay_lag_seconds"
REPLICA_LAG_BYTES = "tenantry_replication_replay_lag_bytes"
REPLICAS_STREAMING = "tenantry_replicas_streaming"
SLOT_ACTIVE = "tenantry_replication_slot_active"
SLOT_RETAINED_BYTES = "tenantry_replication_slot_retained_bytes"
# pg_stat_statements' top statements of a database by total time (postgres-exporter-queries.yaml),
# counters labelled by queryid and the statement's first characters (query).
STATEMENT_SECONDS = "tenantry_statements_seconds"
STATEMENT_CALLS = "tenantry_statements_calls"

def rate(metric: str, selector: str = "", window: str = "$__rate_interval") -> str:
    return f"rate({metric}{{{selector}}}[{window}])" if selector else f"rate({metric}[{window}])"


def sum_rate(metric: str, selector: str = "", window: str = "$__rate_interval", by: str = "") -> str:
    return f"{_sum(by)}({rate(metric, selector, window)})"


def or_zero(expr: str) -> str:
    """`expr`, or a single 0 when it matches no series (a primary without replicas): the panel shows
    0 instead of nothing, and no extra 0 series beside real ones."""
    return f"{expr} or on () vector(0)"


def ratio(part: str, whole: str) -> str:
    """part / whole, where an empty part (no series matched, e.g. no 5xx yet) counts as zero rather
    than making the whole ratio empty."""
    return f"({part} or vector(0)) / {whole}"


def quantile(q: float, histogram: str, selector: str = "", by: str = "", window: str = "$__rate_interval") -> str:
    grouping = ", ".join(filter(None, ["le", by]))
    return f"histogram_quantile({q}, {sum_rate(histogram + '_bucket', selector, window, grouping)})"


def error_ratio(window: str = "$__rate_interval") -> str:
    return ratio(sum_rate(HTTP_RESPONSES, 'status=~"5.."', window), sum_rate(HTTP_RESPONSES, "", window))


def slow_ratio(window: str) -> str:
    """Share of requests slower than the SLO threshold over `window`."""
    fast = sum_rate(HTTP_LATENCY + "_bucket", f'le="{LATENCY_SLO_SECONDS}"', window)
    return f"(1 - {fast} / {sum_rate(HTTP_LATENCY + '_count', '', window)})"


def latency_burn_rate(window: str) -> str:
    """How many times faster than allowed the latency error budget is being spent over `window`."""
    return f"{slow_ratio(window)} / {1 - LATENCY_SLO_TARGET:g}"


def reconcile_failure_ratio(window: str = "$__rate_interval") -> str:
    return ratio(sum_rate(RECONCILIATIONS, 'result=~"retry|failed"', window), sum_rate(RECONCILIATIONS, "", window))


def _sum(by: str) -> str:
    return f"sum by ({by}) " if by else "sum"
