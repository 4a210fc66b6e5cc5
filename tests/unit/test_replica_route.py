"""Where a replica-capable view reads (tenantry.db.replica.decide) and which cached figures a reader
may be served (tenantry.dashboard.cache.fresh_for): the rules of read-your-writes, without servers."""
import pytest

from tenantry.dashboard.cache import fresh_for
from tenantry.db.replica import Route, State, decide, lsn

MAX_LAG = 5.0


@pytest.mark.parametrize(("text", "number"), [("0/0", 0), ("0/3000148", 0x3000148),
                                               ("16/B374D848", (0x16 << 32) + 0xB374D848)])
def test_lsns_parse_to_byte_positions(text, number):
    assert lsn(text) == number


def test_lsns_compare_across_the_high_half():
    assert lsn("0/FFFFFFFF") < lsn("1/0") < lsn("1/10") < lsn("16/B374D848")
    assert lsn("1/0") - lsn("0/FFFFFFFF") == 1
    assert lsn("") is None and lsn(None) is None  # nothing replayed (not a replica)
    with pytest.raises(ValueError):
        lsn("3000148")


@pytest.mark.parametrize(("state", "pin", "reason"), [
    (None, None, "off"),  # no replica configured
    (None, 100, "off"),
    (State(up=False), None, "down"),
    (State(up=True, replayed=None), None, "down"),  # not replaying anything: not a replica we can trust
    (State(up=True, replayed=500, lag_seconds=MAX_LAG + 0.1), None, "lagging"),
    (State(up=True, replayed=500, lag_seconds=MAX_LAG + 0.1), 100, "lagging"),
    (State(up=True, replayed=500, lag_seconds=MAX_LAG), None, "replica"),  # the threshold itself is fine
    (State(up=True, replayed=500), None, "replica"),
    (State(up=True, replayed=500), 499, "replica"),  # the user's write is replayed
    (State(up=True, replayed=500), 500, "replica"),
    (State(up=True, replayed=500), 501, "pinned"),  # not yet: the user reads the primary
], ids=lambda value: repr(value)[:40])
def test_decide(state, pin, reason):
    route = decide(state, pin, MAX_LAG)
    assert route.reason == reason
    assert route.database == ("replica" if reason == "replica" else "default")
    assert route.pin == pin


@pytest.mark.parametrize(("replayed_at_compute", "route", "fresh"), [
    (None, None, True),  # computed on the primary: fresh for anyone
    (None, Route("pinned", pin=900, replayed=100), True),
    (100, None, True),  # computed on the replica, read outside a marked view: bounded by its timeout
    (100, Route("replica", pin=None, replayed=200), True),  # a reader without a recent write
    (100, Route("replica", pin=150, replayed=200), False),  # computed before the reader's write was replayed
    (100, Route("pinned", pin=150, replayed=120), False),
    (150, Route("replica", pin=150, replayed=200), True),
], ids=lambda value: repr(value)[:40])
def test_fresh_for(replayed_at_compute, route, fresh):
    assert fresh_for(replayed_at_compute, route) is fresh
