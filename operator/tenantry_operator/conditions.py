"""Status conditions after the Kubernetes API conventions; Kopf has no helper for them.

Pure functions over plain lists of dicts, so they are tested without a cluster. lastTransitionTime
changes only when the status flips, which is what lets `kubectl wait` and alerting reason about age.
"""
from datetime import UTC, datetime


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def set_condition(conditions: list[dict], type_: str, status: bool, reason: str, message: str,
                  generation: int, at: str | None = None) -> list[dict]:
    """Return a new list with condition `type_` set; other conditions are kept as they were."""
    value = "True" if status else "False"
    old = next((c for c in conditions if c.get("type") == type_), None)
    changed = old is None or old.get("status") != value
    new = {
        "type": type_, "status": value, "reason": reason, "message": message,
        "observedGeneration": generation,
        "lastTransitionTime": (at or now()) if changed else old.get("lastTransitionTime", at or now()),
    }
    return [new if c.get("type") == type_ else c for c in conditions] if old else [*conditions, new]


def is_true(conditions: list[dict], type_: str) -> bool:
    return any(c.get("type") == type_ and c.get("status") == "True" for c in conditions)


def transitions(old: list[dict], new: list[dict]) -> list[dict]:
    """Conditions of `new` whose status or reason differs from `old`: what deserves an event."""
    before = {c.get("type"): (c.get("status"), c.get("reason")) for c in old}
    return [c for c in new if before.get(c["type"]) != (c["status"], c["reason"])]
