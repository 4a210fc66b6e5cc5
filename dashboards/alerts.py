"""The Prometheus alert rules: one group, each alert with a severity and a runbook_url pointing at its
section of docs/runbooks.md (a `## <AlertName>` heading; GitHub anchors lower-case it)."""
from dashboards import promql as q

RUNBOOK_BASE = "https://github.com/tenantry/tenantry/blob/main/docs/runbooks.md"

# Multi-window burn-rate pairs of the SRE workbook: (long window, short window, burn rate, for, severity).
# 14.4 spends 2% of a 30-day budget in an hour; 6 spends 5% in six hours.
BURN_WINDOWS = (("1h", "5m", 14.4, "2m", "critical"), ("6h", "30m", 6, "15m", "warning"))


def runbook_url(alert: str) -> str:
    return f"{RUNBOOK_BASE}#{alert.lower()}"


def alert(name: str, expr: str, for_: str, severity: str, summary: str, description: str) -> dict:
    return {"alert": name, "expr": expr, "for": for_, "labels": {"severity": severity},
            "annotations": {"summary": summary, "description": description, "runbook_url": runbook_url(name)}}


def latency_burn_alerts() -> list[dict]:
    budget = f"{q.LATENCY_SLO_TARGET:.0%} of requests within {q.LATENCY_SLO_SECONDS} s"
    return [alert(
        f"TenantryLatencySLOBurn{'Fast' if severity == 'critical' else 'Slow'}",
        f"{q.latency_burn_rate(long)} > {burn:g}\nand\n{q.latency_burn_rate(short)} > {burn:g}",
        for_, severity,
        f"Web latency is burning the SLO budget ({budget}) {burn:g} times too fast",
        f"Over the last {long} and {short}, more than {burn:g}x the allowed share of requests took longer than "
        f"{q.LATENCY_SLO_SECONDS} s. The burn rate over {long} is {{{{ $value | humanize }}}}.")
        for long, short, burn, for_, severity in BURN_WINDOWS]


def fleet_migration_alerts() -> list[dict]:
    """The operator's fleet migrations: tenant schemas that failed, a rollout held by a canary, and
    tenants left behind while nothing moves."""
    stuck_seconds = 900
    return [
        alert("TenantryTenantMigrationFailed", f'max({q.FLEET_TENANTS}{{state="failed"}}) > 0', "5m", "warning",
              "Tenant schemas failed to migrate to the deployed version",
              "{{ $value }} tenants lack migrations of the deployed code and their last attempt failed; the "
              "operator retries each every TENANTRY_MIGRATION_RETRY_SECONDS (5 minutes by default)."),
        alert("TenantryMigrationRolloutHeld", f"max({q.ROLLOUT_HELD}) == 1", "5m", "critical",
              "A canary tenant failed to migrate: the migration rollout is held",
              "No other tenant is migrated until the canary's schema migrates (or it stops being a canary): "
              "the tenants behind keep their older schema."),
        alert("TenantryMigrationRolloutStuck",
              f'max({q.FLEET_TENANTS}{{state="behind"}}) > 0\nand on ()\n'
              f"(time() - max({q.ROLLOUT_PROGRESS})) > {stuck_seconds}", "5m", "warning",
              f"Tenants are behind the deployed migrations and no schema has migrated for {stuck_seconds // 60} "
              "minutes",
              f"{{{{ $value }}}} tenants lack migrations of the deployed code, and the operator has migrated no "
              f"schema for more than {stuck_seconds // 60} minutes."),
    ]


# A replica further behind than this for REPLICA_ALERT_FOR is worth a look; the web app already reads the
# primary instead past TENANTRY_REPLICA_MAX_LAG_SECONDS (5 s by default).
REPLICA_LAG_ALERT_SECONDS = 30
REPLICA_ALERT_FOR = "2m"


def replica_alerts() -> list[dict]:
    """Streaming replicas, as the primary's exporter sees them: one far behind, and a replication slot
    no replica streams through (the replica is away; the primary keeps its WAL meanwhile)."""
    return [
        alert("TenantryReplicaLagging",
              f"max by (application_name) ({q.REPLICA_LAG_SECONDS}) > {REPLICA_LAG_ALERT_SECONDS}", REPLICA_ALERT_FOR,
              "warning", f"A read replica is more than {REPLICA_LAG_ALERT_SECONDS} s behind the primary",
              "{{ $labels.application_name }} replays the primary's commits {{ $value | humanizeDuration }} late; "
              "replica reads go to the primary while it is behind more than TENANTRY_REPLICA_MAX_LAG_SECONDS."),
        alert("TenantryReplicaDown", f"max by (slot_name) ({q.SLOT_ACTIVE}) == 0", REPLICA_ALERT_FOR, "warning",
              "No replica streams through a replication slot",
              "Nothing has streamed through slot {{ $labels.slot_name }} for 2 minutes: its replica is down or "
              "cannot reach the primary, replica reads go to the primary, and the primary keeps every WAL "
              "segment for the slot."),
    ]


def rules() -> dict:
    return {"groups": [{"name": "tenantry", "rules": [
        alert("TenantryWebDown", 'absent(up{job="web"} == 1)', "5m", "critical",
              "No web pod is being scraped successfully",
              "Prometheus has had no healthy target of job web for 5 minutes: the site is down or unobserved."),
        alert("TenantryHighErrorRatio", f"{q.error_ratio('5m')} > 0.05", "10m", "critical",
              "More than 5% of web responses are 5xx",
              "{{ $value | humanizePercentage }} of responses over the last 5 minutes were server errors."),
        *latency_burn_alerts(),
        alert("TenantryTenantStuckNotReady", "max(tenantry_operator_oldest_not_ready_seconds) > 900", "5m",
              "warning", "A tenant has not been Ready for more than 15 minutes",
              "The oldest not-Ready tenant has waited {{ $value | humanizeDuration }}."),
        alert("TenantryOperatorDown", 'absent(up{job="operator"} == 1)', "5m", "critical",
              "No operator replica is being scraped successfully",
              "Tenants are neither provisioned nor repaired, and the admission webhook checks no new Tenant."),
        alert("TenantryWebhookUnchecked",
              'sum(increase(tenantry_operator_webhook_admissions_total{result="unchecked"}[10m])) > 0', "0m",
              "warning", "The admission webhook let Tenants in without checking them",
              "{{ $value | humanize }} Tenant writes in the last 10 minutes were admitted unchecked: the operator "
              "could not reach the database. Conflicts are now caught by the reconcile loop, after `kubectl "
              "apply` succeeded."),
        alert("TenantryOperatorReconcileFailing", f"{q.reconcile_failure_ratio('15m')} > 0.2", "15m", "warning",
              "More than 20% of the operator's reconciles end in retry or failure",
              "{{ $value | humanizePercentage }} of reconciles over the last 15 minutes did not reach Ready."),
        *fleet_migration_alerts(),
        alert("TenantryPgBouncerClientsWaiting", "sum(pgbouncer_pools_client_waiting_connections) > 0", "5m", "warning",
              "Clients are queueing for a PgBouncer server connection",
              "{{ $value }} client connections have waited for a server connection for 5 minutes: the pool "
              "is too small for the load, or PostgreSQL is slow."),
        *replica_alerts(),
        alert("TenantryBackupsOverdue", "max(tenantry_backups_overdue_tenants) > 0", "30m", "warning",
              "Active tenants have no recent successful backup",
              "{{ $value }} active tenants have no successful backup within TENANTRY_BACKUP_MAX_AGE_SECONDS."),
        alert("TenantryBackupRunsFailing", "max(tenantry_backup_runs_failed_last_day) > 0", "5m", "warning",
              "Backup runs failed in the last day",
              "{{ $value }} backup runs failed in the last 24 hours."),
    ]}]}
