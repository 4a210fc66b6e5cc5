"""A tenant's migration state as the Tenant shows it: `status.migrations` and the Migrated condition.

Pure functions: the fleet loop writes `status.migrations` from a survey, and the Migrated condition
is derived from that field wherever the Tenant's conditions are written, so it can never disagree
with it.
"""
from tenantry.tenancy.fleet.survey import SchemaState


def migrations_status(state: SchemaState, target: str) -> dict:
    behind = "Failed" if state.failure else "Pending"
    status = {"state": "Current" if not state.pending else behind, "version": state.version, "target": target,
              "pending": state.pending, "latest": state.latest}
    if state.pending and state.failure:
        status["lastError"] = state.failure
        status["failedAt"] = state.failed_at.strftime("%Y-%m-%dT%H:%M:%SZ") if state.failed_at else ""
    return status


def condition(migrations: dict | None) -> tuple[bool, str, str] | None:
    """(status, reason, message) of the Migrated condition; None before the first survey."""
    if not migrations:
        return None
    if migrations.get("state") == "Current":
        return True, "Migrated", (f"every migration applied (version {migrations['version']}, "
                                  f"last {migrations['latest']})")
    if migrations.get("state") == "Failed":
        return False, "MigrationFailed", f"{migrations['pending']} pending: {migrations.get('lastError', '')}"
    return False, "MigrationPending", (f"{migrations['pending']} migrations pending to reach version "
                                       f"{migrations['target']}")


def condition_outdated(status: dict) -> bool:
    """Does the Migrated condition say something other than status.migrations?"""
    wanted = condition(status.get("migrations"))
    if wanted is None:
        return False
    current = next((c for c in status.get("conditions") or [] if c.get("type") == "Migrated"), None)
    return current is None or (current.get("status") == "True", current.get("reason"), current.get("message")) != wanted


def fleet_summary(summary: dict, rollout: str) -> dict:
    """The fleet ConfigMap's data: strings only."""
    versions = ", ".join(f"{v}={n}" for v, n in sorted(summary["versions"].items(), key=lambda kv: -kv[1]))
    return {"target": summary["target"], "current": str(summary["current"]), "behind": str(summary["behind"]),
            "failed": str(summary["failed"]), "versions": versions, "rollout": rollout}
