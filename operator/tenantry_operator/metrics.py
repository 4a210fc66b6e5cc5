"""Prometheus metrics of the operator, served on their own port (TENANTRY_METRICS_PORT).

Series are per phase, trigger and result — never per tenant — so ten thousand tenants add no series.
"""
import threading
import time
from contextlib import contextmanager

from prometheus_client import Counter, Gauge, Histogram, start_http_server

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
                     "Tenant writes the validating webhook decided on, by result.", ["result"])
TENANTS = Gauge("tenantry_operator_tenants", "Tenants this operator handles, by phase.", ["phase"])
PHASES = ("Pending", "Provisioning", "Ready", "Suspended", "Failed", "Terminating")

_phases: dict[str, str] = {}
_lock = threading.Lock()


def serve(port: int, addr: str) -> None:
    for phase in PHASES:
        TENANTS.labels(phase).set(0)
    start_http_server(port, addr=addr)


def record_phase(uid: str, phase: str | None) -> None:
    """The phase of one tenant (None: forget it); the gauge counts tenants per phase."""
    with _lock:
        if phase is None:
            _phases.pop(uid, None)
        else:
            _phases[uid] = phase
        counts = {p: 0 for p in PHASES}
        for value in _phases.values():
            counts[value] = counts.get(value, 0) + 1
    for phase, count in counts.items():
        TENANTS.labels(phase).set(count)


@contextmanager
def timed(histogram, **labels):
    started = time.perf_counter()
    try:
        yield
    finally:
        (histogram.labels(**labels) if labels else histogram).observe(time.perf_counter() - started)
