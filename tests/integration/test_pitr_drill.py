"""The point-in-time recovery drill (`make pitr-drill`) on scratch clusters beside the platform's PostgreSQL."""
import pytest

from localplatform import config, pitr
from localplatform.proc import port_open

pytestmark = pytest.mark.integration


def test_a_restore_to_a_time_between_two_writes_keeps_the_first_and_not_the_second(services):
    result = pitr.drill()

    assert result.rows_on_primary == ["A", "B"]
    assert result.rows_after_restore == ["A"], f"restored to {result.target_time}"
    assert result.archived_segments >= 2 and result.passed
    assert result.seconds < 60
    assert not port_open(pitr.PRIMARY_PORT) and not port_open(pitr.RESTORED_PORT)  # both scratch clusters stopped
    assert port_open(config.PORTS["postgres"])  # the platform's own PostgreSQL was left alone


def test_the_recovery_settings_name_the_archive_and_the_target(tmp_path):
    conf = pitr.recovery_settings(tmp_path / "wal", "2026-11-27 05:00:00.000000+00")
    assert f"restore_command = 'cp {tmp_path}/wal/%f %p'" in conf
    assert "recovery_target_time = '2026-11-27 05:00:00.000000+00'" in conf
    assert "recovery_target_action = 'promote'" in conf
