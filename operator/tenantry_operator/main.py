"""Kopf wiring only: settings, thin handlers over `reconcile` and `deletion`, and the fleet loop's thread.

Kopf's own bookkeeping (progress, last-handled spec) goes to annotations under tenantry.dev, so
`.status` holds only API-convention fields that we write ourselves. Every change of a condition
becomes a Kubernetes event on the Tenant.
"""
import logging
import os
import random
import socket
import threading
from datetime import UTC, datetime

import django
import kopf

django.setup()  # the provisioning service is Django code; settings come from the environment

from tenantry_operator import GROUP, PLURAL, VERSION, backup_jobs, backups, metrics, migration_status  # noqa: E402
from tenantry_operator.admission import problems  # noqa: E402
from tenantry_operator.children import child_name  # noqa: E402
from tenantry_operator.conditions import set_condition, transitions  # noqa: E402
from tenantry_operator.config import OperatorConfig  # noqa: E402
from tenantry_operator.deletion import delete_tenant  # noqa: E402
from tenantry_operator.fleet import FleetLoop  # noqa: E402
from tenantry_operator.kube import (  # noqa: E402
    FIELD_MANAGER,
    Applier,
    Backups,
    Tenants,
    load_configuration,
    post_event,
)
from tenantry_operator.phases import Phase  # noqa: E402
from tenantry_operator.reconcile import Outcome, Resource, Services, reconcile  # noqa: E402
from tenantry_operator.webhook import WebhookServer  # noqa: E402

CONFIG = OperatorConfig.from_env()
RETRY_DELAY_SECONDS = 10
applier: Applier | None = None
backup_api: Backups | None = None
fleet: FleetLoop | None = None


@kopf.on.startup()
def configure(settings: kopf.OperatorSettings, **_) -> None:
    global applier, backup_api, fleet
    settings.persistence.finalizer = f"{GROUP}/finalizer"
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=GROUP)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=GROUP, key="last-handled-configuration")
    settings.posting.level = logging.INFO
    # Events say who wrote them (`kubectl describe` shows "From: tenantry-operator", not kopf).
    settings.posting.reporting_component = FIELD_MANAGER
    settings.posting.reporting_instance = socket.gethostname()  # the pod's name in a cluster
    settings.posting.event_name_prefix = "tenantry-"
    settings.peering.priority = CONFIG.peering_priority or random.randint(1, 2**31 - 1)
    settings.peering.lifetime = CONFIG.peering_lifetime_seconds
    load_configuration()
    applier = Applier()
    backup_api = Backups()
    if CONFIG.metrics_port:
        metrics.serve(CONFIG.metrics_port, CONFIG.metrics_addr)
    if CONFIG.webhook_port:
        settings.admission.server = WebhookServer(
            addr=CONFIG.webhook_addr, port=CONFIG.webhook_port, host=CONFIG.webhook_host,
            certfile=CONFIG.webhook_cert, pkeyfile=CONFIG.webhook_key, cafile=CONFIG.webhook_ca)
        # Kopf keeps this ValidatingWebhookConfiguration in step with the handlers below.
        settings.admission.managed = f"{GROUP}.{CONFIG.watch_namespace or 'all'}"
    fleet = FleetLoop(CONFIG, Tenants(), applier.apply, post_event,
                      namespace=CONFIG.watch_namespace or os.environ.get("POD_NAMESPACE", "default"))
    threading.Thread(target=fleet.run, name="fleet", daemon=True).start()  # rollouts block on the database


@kopf.on.cleanup()
def stop_fleet(**_) -> None:
    if fleet:
        fleet.stopping.set()


def _report_transitions(body, old: list[dict], new: list[dict]) -> None:
    for changed in transitions(old, new):
        kopf.event(body, type="Normal" if changed["status"] == "True" else "Warning",
                   reason=changed["reason"], message=f"{changed['type']}: {changed['message']}")


def _reconcile(trigger: str, body, namespace, name, uid, spec, meta, status, patch) -> Outcome:
    """One pass; the timer's ("drift") checks cheaply first what a change handler provisions fully."""
    tenant = Resource(namespace=namespace, name=name, uid=uid, generation=meta["generation"], spec=dict(spec),
                      status=dict(status))
    with metrics.timed(metrics.RECONCILE_SECONDS, trigger=trigger):
        result = reconcile(tenant, CONFIG, Services(apply=applier.apply), recheck=trigger == "timer")
    outcome = "ready" if not result.error else ("failed" if result.permanent else "retry")
    metrics.RECONCILIATIONS.labels(trigger=trigger, result=outcome).inc()
    metrics.record_phase(uid, result.status["phase"],
                         since=metrics.not_ready_since(result.status, meta["creationTimestamp"]))
    patch.status.update(result.status)
    _report_transitions(body, tenant.status.get("conditions") or [], result.status["conditions"])
    return result


@kopf.on.resume(GROUP, VERSION, PLURAL)
@kopf.on.create(GROUP, VERSION, PLURAL)
@kopf.on.update(GROUP, VERSION, PLURAL, field="spec")
def reconcile_tenant(body, namespace, name, uid, spec, meta, status, patch, logger, **_) -> None:
    result = _reconcile("change", body, namespace, name, uid, spec, meta, status, patch)
    if result.error and result.permanent:
        raise kopf.PermanentError(result.error)
    if result.error:
        raise kopf.TemporaryError(result.error, delay=RETRY_DELAY_SECONDS)
    logger.info("tenant %s/%s is %s", namespace, name, result.status["phase"])


@kopf.timer(GROUP, VERSION, PLURAL, interval=CONFIG.drift_interval_seconds, initial_delay=CONFIG.drift_interval_seconds)
def repair_drift(body, namespace, name, uid, spec, meta, status, patch, **_) -> None:
    """The same idempotent pass on a timer: an edited or deleted child is applied again, a vanished
    schema is reported (SchemaMissing), a fixed one goes back to Ready."""
    _reconcile("timer", body, namespace, name, uid, spec, meta, status, patch)


@kopf.on.event(GROUP, VERSION, PLURAL,
               when=lambda type, meta, status, **_: type != "DELETED" and not meta.get("deletionTimestamp")
               and migration_status.condition_outdated(status))
def show_migration_state(body, meta, status, patch, **_) -> None:
    """The fleet loop changed status.migrations: the Migrated condition follows at once, not at the
    next reconcile pass (which derives it the same way)."""
    old = status.get("conditions") or []
    ok, reason, message = migration_status.condition(status["migrations"])
    new = set_condition(old, "Migrated", ok, reason, message, meta["generation"])
    patch.status["conditions"] = new
    _report_transitions(body, old, new)


def admit(namespace, name, spec, **_) -> None:
    """Refuse a Tenant that collides with another one, at `kubectl apply` time. Registered only
    with a webhook server configured (Kopf refuses admission handlers without one)."""
    if CONFIG.watch_namespace and namespace != CONFIG.watch_namespace:
        return  # another operator's tenant: its own webhook decides
    found = problems(namespace, name, dict(spec), CONFIG)
    metrics.ADMISSIONS.labels(result="unchecked" if found is None else "denied" if found else "allowed").inc()
    if found:
        raise kopf.AdmissionError("; ".join(found), code=422)


if CONFIG.webhook_port:
    # persistent: an operator pod that stops must leave the webhook in the configuration. Kopf removes
    # the others on exit, and in a rolling update or a deleted leader the old pod exits after its
    # replacement has registered, leaving `kubectl apply` unvalidated until the next operator start.
    kopf.on.validate(GROUP, VERSION, PLURAL, operations=["CREATE", "UPDATE"], ignore_failures=True,
                     persistent=True)(admit)


@kopf.on.delete(GROUP, VERSION, PLURAL)
def release(body, namespace, name, uid, spec, status, **_) -> None:
    metrics.record_phase(uid, Phase.TERMINATING)
    kopf.info(body, reason="Deleted", message=delete_tenant(namespace, name, dict(spec), dict(status), CONFIG))
    metrics.record_phase(uid, None)


@kopf.on.event(GROUP, VERSION, PLURAL, annotations={backup_jobs.ANNOTATION: kopf.PRESENT},
               when=lambda type, meta, status, **_: type != "DELETED" and not meta.get("deletionTimestamp")
               and backup_jobs.pending_request(meta.get("annotations"), status) is not None)
def backup_on_request(body, namespace, name, meta, status, patch, memo, **_) -> None:
    """`kubectl annotate tenant acme tenantry.dev/backup-now=$(date +%s)`: a backup now, in
    status.lastBackup and an event. A watch event, not a change handler: Kopf leaves annotations under
    its own prefix (tenantry.dev) out of the changes it diffs. Events that arrived while a backup ran
    still show the status from before it (no backupRequest yet): the Tenant's memo remembers the
    request handled, so they do not take it again."""
    request = backup_jobs.pending_request(meta.get("annotations"), status)
    if memo.get("backup_request") == request:
        return
    memo["backup_request"] = request
    patch.status["backupRequest"] = request
    if CONFIG.backup_now == "job":
        cronjob = backup_api.cronjob(namespace, child_name(name, "backup"))
        job = backup_jobs.manual_job(cronjob, request)
        backup_api.start(job)
        patch.status["lastBackup"] = {"request": request, "job": job["metadata"]["name"],
                                      "time": backup_jobs.timestamp(datetime.now(UTC)),
                                      "message": f"Job {job['metadata']['name']} started"}
        kopf.event(body, type="Normal", reason="BackupStarted", message=f"Job {job['metadata']['name']}")
        return
    last = backups.backup_now(status["schema"], request, CONFIG)
    patch.status["lastBackup"] = last
    _report_backup(body, last)


def _report_backup(tenant, last: dict) -> None:
    kopf.event(tenant, type="Normal" if last["succeeded"] else "Warning",
               reason="BackupTaken" if last["succeeded"] else "BackupFailed",
               message=f"backup {last['path'] or 'failed'}: {last['message']}")


@kopf.on.event("batch", "v1", "jobs", labels={backup_jobs.TENANT_LABEL: kopf.PRESENT},
               when=lambda type, status, **_: type != "DELETED" and backup_jobs.finished(status) is not None)
def record_backup_job(namespace, name, labels, annotations, status, logger, **_) -> None:
    """A backup Job of a tenant's CronJob finished (scheduled, annotated or `kubectl create job
    --from`): its run goes to the Tenant's status.lastBackup, unless a later one is there already."""
    tenant = backup_api.tenant(namespace, labels[backup_jobs.TENANT_LABEL])
    started = status.get("startTime") or ""
    if tenant is None or backup_jobs.outdated(tenant.get("status", {}).get("lastBackup") or {}, name, started):
        return  # the Tenant is gone (its CronJob's Jobs go with it), or nothing new to record
    run = backups.run_since(tenant.get("status", {}).get("schema", ""), started)
    last = backup_jobs.last_backup(name, annotations, backup_jobs.finished(status), run, datetime.now(UTC))
    backup_api.record(namespace, tenant["metadata"]["name"], last)
    _report_backup(tenant, last)
    logger.info("backup Job %s of tenant %s: %s", name, tenant["metadata"]["name"], last["message"])
