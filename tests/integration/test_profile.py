"""`make profile` for real: its private stack under Locust, py-spy on the web workers and
pg_stat_statements, against the running `make up`."""
import os
import re
import subprocess
import sys

import pytest

from localplatform import config

pytestmark = pytest.mark.integration


def test_make_profile_writes_a_flame_graph_top_costs_and_top_statements():
    done = subprocess.run([sys.executable, "-m", "bench.profile"], cwd=config.ROOT, capture_output=True, text=True,
                          timeout=280, env={**os.environ, "TENANTRY_PROFILE_SECONDS": "12"})
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    out = config.ROOT / re.search(r"files: (\S+)/web\.svg", done.stdout)[1]
    assert out.parent == config.LOCAL / "profile"
    assert (out / "web.svg").read_text().lstrip().startswith(("<?xml", "<svg"))
    top = (out / "web-top.txt").read_text()
    samples = int(top.split()[0])
    assert samples > 100, top[:500]  # 97 samples/s of each busy worker over 12 s
    assert re.search(r"%\s+\d+\.\d%\s+django/", top), top[:1500]  # Django's own frames are seen
    statements = (out / "statements.txt").read_text()
    per_request = float(re.search(r"([\d.]+) statements and", statements)[1])
    assert 0 < per_request < 20, statements[:500]
    assert "projects_project" in statements  # the tenants' own queries, not only the platform's
    summary = (out / "summary.txt").read_text()
    assert re.search(r"server CPU per request: [\d.]+ ms \(web [\d.]+, PostgreSQL", summary), summary
