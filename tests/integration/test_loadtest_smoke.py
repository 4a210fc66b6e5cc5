"""The `smoke` load profile against this run's own gunicorn and two tenants it makes, and proof that a
broken threshold fails the run: Locust's exit code is the SLO verdict (loadtest/locustfile.py)."""
import csv
import subprocess
import sys
from pathlib import Path

import pytest

from harness import new_tenant
from localplatform import config

pytestmark = pytest.mark.integration
RUN = Path(__file__).resolve().parents[2] / "loadtest" / "run.py"


def run_profile(web_app, hosts: list[str], report_dir: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(RUN), "--profile", "smoke", "--host",
                           f"http://{config.HOST}:{web_app.web_port}", "--tenant-hosts", ",".join(hosts),
                           "--report-dir", str(report_dir), *extra],
                          capture_output=True, text=True, timeout=150)


def aggregated(report_dir: Path) -> dict[str, str]:
    with open(report_dir / "stats_stats.csv", newline="") as handle:
        return next(row for row in csv.DictReader(handle) if row["Name"] == "Aggregated")


@pytest.fixture(scope="module")
def load_tenants(database):
    return [new_tenant(), new_tenant()]


def test_smoke_profile_meets_its_thresholds_at_every_tenant(web_app, load_tenants, tmp_path):
    from tenantry.accounts.models import Membership

    result = run_profile(web_app, [t.host for t in load_tenants], tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert "SLO OK" in result.stdout
    totals = aggregated(tmp_path)
    assert int(totals["Request Count"]) > 100, totals
    assert int(totals["Failure Count"]) == 0, (tmp_path / "stats_failures.csv").read_text()
    assert (tmp_path / "report.html").stat().st_size > 0
    for t in load_tenants:  # each tenant really had users signing up at its own host
        assert Membership.objects.filter(tenant=t.tenant, user__email__startswith="lt-").exists(), t.host


def test_a_broken_threshold_fails_the_run_and_names_it(web_app, load_tenants, tmp_path):
    result = run_profile(web_app, [t.host for t in load_tenants], tmp_path, "--run-time", "10s", "--p95-ms", "0")
    assert result.returncode != 0, result.stdout[-3000:]
    assert "SLO BROKEN: p95_ms: p95" in result.stdout
    assert "above 0 ms" in result.stdout
