"""Prometheus metrics of the operator, served on their own port (TENANTRY_METRICS_PORT).

Series are per phase, trigger and result — never per tenant — so ten thousand tenants add no series.
"""
import threading
import time
from contextlib import contextmanager
from datetime import datetime

from prometheus_client import Counter, Gauge, Histogram, start_http_server

from tenantry_operator.phases import SETTLED, Phase

RECONCILIATIONS = Counter("tenantry_operator_reconciliations_total",
                          "Reconcile passes over Tenants, by what triggered them and how they ended.",
                          ["trigger", "result"])
RECONCILE_SECONDS = Histogram("tenantry_operator_reconcile_duration_seconds",
                              "Time of one reconcile pass.", ["trigger"],
                              buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
PROVISIONING_SECONDS = Histogram("tenantry_operator_provisioning_duration_seconds",
                                 "Time of the schema and public-rows step of a reconcile pass.",
                                 buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
ADMISSIONS = Counter("tenantry_operator_webhook_admissions_total",
                     "Tenant writes the validating webhook decided on, by result: allowed, denied, or "
                     "unchecked (no database; let in for the reconcile loop to judge).", ["result"])
ADMISSION_RESULTS = ("allowed", "denied", "unchecked")
TENANTS = Gauge("tenantry_operator_tenants", "Tenants this operator handles, by phase.", ["phase"])
OLDEST_NOT_READY = Gauge("tenantry_operator_oldest_not_ready_seconds",
                         "Age of the not-Ready state of the tenant that has been not Ready longest; 0 when all are.")
# Computed at scrape time, so the age grows between the reconcile passes of a stuck tenant.
OLDEST_NOT_READY.set_function(lambda: oldest_not_ready_seconds(time.time()))
# Fleet migrations: a handful of series whatever the number of tenants (versions are few at a time).
FLEET_TENANTS = Gauge("tenantry_operator_fleet_tenants",
                      "Tenants whose schema has every migration (current), lacks some (behind), or lacks some "
                      "after a failed attempt (failed).", ["state"])
FLEET_STATES = ("current", "behind", "failed")
FLEET_VERSIONS = Gauge("tenantry_operator_fleet_tenants_by_version",
                       "Tenants whose schema stands at each migration version.", ["version"])
FLEET_TARGET = Gauge("tenantry_operator_fleet_target_info", "The deployed code's migration version.", ["version"])
FLEET_SURVEY_SECONDS = Histogram("tenantry_operator_fleet_survey_duration_seconds",
                                 "Time of one survey of every tenant schema's migrations.",
                                 buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
ROLLOUT_RUNNING = Gauge("tenantry_operator_rollout_running", "1 while a rollout migrates schemas.")
ROLLOUT_HELD = Gauge("tenantry_operator_rollout_held",
                     "1 while the rollout is held because a canary tenant failed to migrate.")
ROLLOUT_SCHEMAS = Counter("tenantry_operator_rollout_schemas_total",
                          "Schemas a rollout worked on, by result (moved: changed by another runner meanwhile).",
                          ["result"])
ROLLOUT_RESULTS = ("migrated", "failed", "moved")
ROLLOUT_PROGRESS = Gauge("tenantry_operator_rollout_last_progress_timestamp_seconds",
                         "When no tenant was last behind, or a rollout last migrated a schema (Unix time).")

_phases: dict[str, str] = {}
_not_ready_since: dict[str, float] = {}
_lock = threading.Lock()


def serve(port: int, addr: str) -> None:
    for phase in Phase:
        TENANTS.labels(phase).set(0)
    for result in ADMISSION_RESULTS:  # from 0, so increase() sees the first one (an alert watches "unchecked")
        ADMISSIONS.labels(result)
    for state in FLEET_STATES:
        FLEET_TENANTS.labels(state).set(0)
    for result in ROLLOUT_RESULTS:
        ROLLOUT_SCHEMAS.labels(result)
    ROLLOUT_PROGRESS.set(time.time())
    start_http_server(port, addr=addr)


def not_ready_since(status: dict, created: str) -> float:
    """When the tenant stopped being Ready, as a Unix time: its Ready condition's lastTransitionTime,
    which lives in the Tenant's status and so survives an operator restart; a tenant without a Ready
    condition yet counts from its creation."""
    ready = next((c for c in status.get("conditions") or [] if c.get("type") == "Ready"), None)
    stamp = ready["lastTransitionTime"] if ready and ready.get("status") != "True" else created
    return datetime.fromisoformat(stamp).timestamp()


def oldest_not_ready_seconds(now: float) -> float:
    with _lock:
        since = min(_not_ready_since.values(), default=None)
    return 0.0 if since is None else max(0.0, now - since)


def record_phase(uid: str, phase: str | None, since: float | None = None) -> None:
    """The phase of one tenant (None: forget it); the gauge counts tenants per phase. `since` is when
    a tenant not in a settled phase stopped being Ready (default: now, if not known already)."""
    with _lock:
        if phase is None:
            _phases.pop(uid, None)
        else:
            _phases[uid] = phase
        if phase is None or phase in SETTLED:
            _not_ready_since.pop(uid, None)
        elif since is not None:
            _not_ready_since[uid] = since
        else:
            _not_ready_since.setdefault(uid, time.time())
        counts = {p: 0 for p in Phase}
        for value in _phases.values():
            counts[value] = counts.get(value, 0) + 1
    for phase, count in counts.items():
        TENANTS.labels(phase).set(count)


def record_fleet(summary: dict) -> None:
    for state in FLEET_STATES:
        FLEET_TENANTS.labels(state).set(summary[state])
    FLEET_VERSIONS.clear()
    for version, count in summary["versions"].items():
        FLEET_VERSIONS.labels(version).set(count)
    FLEET_TARGET.clear()
    FLEET_TARGET.labels(summary["target"]).set(1)
    if not summary["behind"] and not summary["failed"]:
        ROLLOUT_PROGRESS.set(time.time())


@contextmanager
def timed(histogram, **labels):
    started = time.perf_counter()
    try:
        yield
    finally:
        (histogram.labels(**labels) if labels else histogram).observe(time.perf_counter() - started)
