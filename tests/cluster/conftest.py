"""The node of `make cluster`, brought up through the same code (or, with TENANTRY_TEST_START=0,
only checked). A node that cannot start fails the run with the component and its log."""
import os

import pytest

from localplatform import cluster
from localplatform.proc import PlatformError, log_file, read_pid


@pytest.fixture(scope="session")
def the_node():
    try:
        if os.environ.get("TENANTRY_TEST_START", "1") != "0":
            cluster.up()
        for component in cluster.components():
            if read_pid(component.name) is None or not component.ready():
                raise PlatformError(f"{component.title} is not running; read {log_file(component.name)}")
    except PlatformError as err:
        pytest.fail(f"the node (make cluster) is not up: {err}", pytrace=False)

