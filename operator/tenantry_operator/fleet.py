"""The operator's fleet loop: survey every tenant schema, roll out what is behind, show it.

Every `fleet_interval_seconds`: one survey (a handful of queries for the whole fleet), metrics, and
`status.migrations` patched on the Tenants whose state changed; when some schema lacks migrations, the
same rollout as the deploy hook's (`tenantry.tenancy.fleet.rollout`), with failed schemas retried only
after `migration_retry_seconds`. The fleet's summary lives in a ConfigMap (`fleet_configmap`,
tenantry-migrations by default), which carries the rollout's events. Several operators may run it at
once (a standby replica): the rollout's locks make that safe.
"""
import logging
import threading
import time

from django.db import close_old_connections

from tenantry.tenancy.fleet import rollout, survey, target
from tenantry_operator import metrics
from tenantry_operator.config import OperatorConfig
from tenantry_operator.migration_status import fleet_summary, migrations_status

logger = logging.getLogger(__name__)


class FleetLoop:
    def __init__(self, config: OperatorConfig, tenants, apply, event, namespace: str):
        """`tenants` lists Tenants and patches their status (kube.Tenants); `apply` server-side applies
        an object; `event(obj, type, reason, message)` posts an event on it."""
        self.config, self.tenants, self.apply, self.event = config, tenants, apply, event
        self.namespace = namespace
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                self.once()
            except Exception:  # the database or the API server is away: the next round tries again
                logger.exception("fleet migration round failed")
            self.stopping.wait(self.config.fleet_interval_seconds)

    def once(self) -> rollout.Report | None:
        close_old_connections()
        try:
            deployed = target.deployed()
            with metrics.timed(metrics.FLEET_SURVEY_SECONDS):
                states = survey.survey(deployed, self.config.watch_namespace)
            chosen = rollout.plan(states, deployed, retry_after=self.config.migration_retry_seconds)
            metrics.ROLLOUT_HELD.set(1 if chosen.held else 0)
            self.publish(deployed, f"held: {chosen.held}" if chosen.held else "idle", states)
            if not chosen.canaries and not chosen.rest:
                return None
            with rollout.exclusive(wait=False) as mine:
                if not mine:  # the deploy hook (or another replica) is rolling out: its result shows next round
                    return None
                return self.roll_out(deployed, survey.survey(deployed, self.config.watch_namespace))
        finally:
            close_old_connections()

    def roll_out(self, deployed: target.Target, states) -> rollout.Report | None:
        chosen = rollout.plan(states, deployed, retry_after=self.config.migration_retry_seconds)
        if not chosen.canaries and not chosen.rest:
            return None  # done by whoever held the lock before us
        behind = len(chosen.canaries) + len(chosen.rest)
        canaries = f"; canaries first: {', '.join(s.schema for s in chosen.canaries)}" if chosen.canaries else ""
        self.post("Normal", "RolloutStarted", f"{behind} tenant schemas to version {deployed.version}{canaries}")
        counted = {"migrated": 0, "failed": 0, "moved": 0}

        def progress(report: rollout.Report) -> None:
            done = {"migrated": len(report.migrated), "failed": len(report.failed), "moved": len(report.moved)}
            for result, total in done.items():
                metrics.ROLLOUT_SCHEMAS.labels(result).inc(total - counted[result])
            if done["migrated"] > counted["migrated"]:
                metrics.ROLLOUT_PROGRESS.set(time.time())
            counted.update(done)
            self.publish(deployed, f"running: {done['migrated']} of {behind} migrated, {done['failed']} failed")

        metrics.ROLLOUT_RUNNING.set(1)
        try:
            report = rollout.rollout(deployed, states, parallel=self.config.migration_parallel,
                                     retry_after=self.config.migration_retry_seconds, on_batch=progress)
        finally:
            metrics.ROLLOUT_RUNNING.set(0)
        if report.interrupted:
            self.publish(deployed, "interrupted")
            self.post("Warning", "RolloutInterrupted", f"database connection lost {report.interrupted}; "
                      f"{len(report.migrated)} migrated so far, the next round resumes")
        elif report.stopped:
            metrics.ROLLOUT_HELD.set(1)
            self.publish(deployed, f"held: {report.stopped}")
            self.post("Warning", "RolloutHeld", f"{report.stopped}; no other tenant was migrated")
        else:
            self.publish(deployed, "idle")
            failed = f", {len(report.failed)} failed: {', '.join(sorted(report.failed))}" if report.failed else ""
            self.post("Warning" if report.failed else "Normal", "RolloutFinished",
                      f"{len(report.migrated)} tenant schemas at version {deployed.version} in "
                      f"{report.seconds:.1f} s{failed}")
        logger.info("rollout to %s: %d migrated, %d failed, stopped: %s", deployed.version, len(report.migrated),
                    len(report.failed), report.stopped or "no")
        return report

    def publish(self, deployed: target.Target, rollout_state: str, states=None) -> list:
        """Survey (unless given), then metrics, the Tenants' status.migrations and the summary."""
        if states is None:
            with metrics.timed(metrics.FLEET_SURVEY_SECONDS):
                states = survey.survey(deployed, self.config.watch_namespace)
        summary = survey.summary(states, deployed)
        metrics.record_fleet(summary)
        by_resource = {state.resource: state for state in states}
        for tenant in self.tenants.list(self.config.watch_namespace):
            meta = tenant["metadata"]
            state = by_resource.get(f"{meta['namespace']}/{meta['name']}")
            if state is None:
                continue  # not provisioned yet (or not served): its reconcile pass speaks for it
            wanted = migrations_status(state, deployed.version)
            if (tenant.get("status") or {}).get("migrations") != wanted:
                self.tenants.patch_status(meta["namespace"], meta["name"], {"migrations": wanted})
        # Data only: in a cluster the chart owns the object and its labels (Helm checks them on upgrade).
        self.summary = self.apply({"apiVersion": "v1", "kind": "ConfigMap",
                                   "metadata": {"name": self.config.fleet_configmap, "namespace": self.namespace},
                                   "data": fleet_summary(summary, rollout_state)})
        return states

    def post(self, type_: str, reason: str, message: str) -> None:
        try:
            self.event(self.summary, type_, reason, message)
        except Exception:  # an event is a courtesy: the log has it too
            logger.exception("could not post the %s event", reason)
        logger.info("%s: %s", reason, message)
