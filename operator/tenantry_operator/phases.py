"""The phases of a Tenant (status.phase): one list for the operator's code and metrics, checked
against the CRD's enum by tests/unit/test_crd_reference.py."""
from enum import StrEnum


class Phase(StrEnum):
    PENDING = "Pending"  # not handled yet
    PROVISIONING = "Provisioning"  # on its way, or retrying a transient error
    READY = "Ready"
    SUSPENDED = "Suspended"
    FAILED = "Failed"  # the spec cannot work as written
    TERMINATING = "Terminating"


# Phases a tenant is meant to stay in; every other one is on its way somewhere, or stuck.
SETTLED = (Phase.READY, Phase.SUSPENDED)
