"""The chaos drill in miniature: a gunicorn worker of this run's web app is killed with SIGKILL under
API write load, and the ledger shows every acknowledged write stored exactly once. `make chaos` runs
the whole set of faults against the `make up` platform."""
import time
import uuid
from collections import Counter

import pytest
from rest_framework.authtoken.models import Token

from chaos.drill import Fault, recovery_seconds, run_all
from chaos.faults import kill_worker
from chaos.ledger import check, stored_writes
from chaos.load import Load, Sample, Writer
from conftest import RUN_ID
from harness import new_tenant
from localplatform import config
from localplatform.components import web

pytestmark = pytest.mark.integration
SETTLE_SECONDS = 2


def test_a_killed_worker_loses_no_acknowledged_write(web_app):
    tenants = [new_tenant(plan="free") for _ in range(2)]
    writers = [Writer(t.host, t.schema, Token.objects.create(user=t.user()).key) for t in tenants]
    server = web(name=f"web-test-{RUN_ID}", port=web_app.web_port, db_name=web_app.db_name)  # the harness's
    direct = config.database_url(config.PORTS["postgres"], web_app.db_name)
    prefix = f"chaos-{uuid.uuid4().hex[:6]}-"

    def ledger_check():
        return check(load.ledger.snapshot(), stored_writes(direct, [w.schema for w in writers], prefix))

    with Load(web_app.web_port, writers, prefix, clients=4) as load:
        [row] = run_all([Fault("kill -9 a gunicorn worker", lambda: kill_worker(server))], load, ledger_check,
                        settle=SETTLE_SECONDS, warmup=1.5)
        after_recovery = load.samples(since=time.monotonic() - SETTLE_SECONDS)
    final = ledger_check()

    assert final.acknowledged >= 20, final
    assert (final.lost, final.duplicated) == (frozenset(), frozenset()), final
    assert (row.lost, row.duplicates) == (0, 0)
    assert row.requests > 0 and row.recovery_seconds < 30, row
    assert any(s.ok for s in after_recovery), "the app served nothing after the worker was replaced"


def test_the_ledger_check_sees_a_lost_and_a_duplicated_write():
    """The check the drill relies on can fail: an acknowledged name missing, or stored twice."""
    acknowledged = {"t_a": frozenset({"w1", "w2"}), "t_b": frozenset({"w3"})}
    stored = {"t_a": Counter({"w1": 1, "w2": 2, "unacknowledged": 1}), "t_b": Counter()}
    result = check(acknowledged, stored)
    assert (result.acknowledged, result.lost, result.duplicated) == (3, {("t_b", "w3")}, {("t_a", "w2")})
    assert recovery_seconds([Sample(10.0, 10.1, True), Sample(10.2, 12.5, False), Sample(11, 14.0, True)], 10.0) \
        == 4.0  # the last request slower than SLOW_SECONDS ended 4 s after the injection
