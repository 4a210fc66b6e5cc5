"""The platform's process management, exercised on real Redis processes of its own."""
import dataclasses
import os
import signal
import socket

import pytest

from harness import require
from localplatform import config
from localplatform.components import Component, pgbouncer, redis
from localplatform.proc import PlatformError, read_pid, stop
from localplatform.stack import start_all
from testkit.net import free_port


@pytest.fixture
def probes():
    made = [redis(name=f"redis-probe-{i}-{os.getpid()}", port=free_port()) for i in range(2)]
    yield made
    for component in made:
        stop(component.name)


def test_a_service_that_is_not_running_is_named():
    absent = dataclasses.replace(pgbouncer(), name="pgbouncer-absent", port=free_port())
    with pytest.raises(PlatformError, match=r"PgBouncer is not running on 127\.0\.0\.1:\d+"):
        require([absent], start=False)


def test_up_twice_starts_nothing_twice_and_restarts_only_the_dead(probes):
    assert start_all(probes) == probes
    first, second = (read_pid(c.name) for c in probes)
    assert start_all(probes) == []
    assert [read_pid(c.name) for c in probes] == [first, second]

    os.kill(first, signal.SIGKILL)
    os.waitpid(first, 0)  # our own child: reap it, as init would for a `make up` process
    restarted = start_all(probes)
    assert [c.name for c in restarted] == [probes[0].name]
    assert read_pid(probes[1].name) == second
    assert read_pid(probes[0].name) not in (None, first)


def test_a_taken_port_is_named_and_nothing_is_left_half_started(probes):
    with socket.socket() as squatter:
        squatter.bind((config.HOST, probes[1].port))
        squatter.listen()
        with pytest.raises(PlatformError) as err:
            start_all(probes)
    assert f"port {probes[1].port} is already in use" in str(err.value)
    assert probes[1].title in str(err.value)
    assert read_pid(probes[0].name) is None  # started by this call, so stopped again


def test_a_component_that_fails_names_itself_and_its_log():
    broken = Component(name=f"broken-{os.getpid()}", title="the broken thing", port=free_port(),
                       argv=lambda: ["sh", "-c", "echo 'cannot open config file' >&2; exit 3"],
                       ready=lambda: False, start_timeout=10)
    with pytest.raises(PlatformError) as err:
        start_all([broken])
    message = str(err.value)
    assert "the broken thing did not start" in message
    assert f"{broken.name}.log" in message and "cannot open config file" in message
