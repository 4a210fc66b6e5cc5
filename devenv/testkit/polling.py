"""Waiting for a running system to get somewhere, with a failure that says what it waited for."""
from collections.abc import Callable
from typing import TypeVar

from localplatform import proc

T = TypeVar("T")


class TimedOut(AssertionError):
    """An AssertionError, so pytest reports a wait that ran out as the test's failure."""


def wait_for(check: Callable[[], T], what: str, timeout: float = 60, every: float = 0.3) -> T:
    """Poll `check` until it returns something truthy and return that; past `timeout` seconds raise
    TimedOut naming `what` and the last answer."""
    return proc.wait_for(check, what, timeout, every, error=TimedOut)
