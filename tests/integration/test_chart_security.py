"""A security scan (checkov) of every values file's rendered manifests: no failed check.

Chart-wide exceptions live in charts/tenantry/checkov.yaml with their reasons; resource-specific ones
are `checkov.io/skipN` annotations on the resource, so a reader sees the reason where it applies.
"""
import json
import re

import pytest

from harness import run_tool
from localplatform import config

CHART = config.ROOT / "charts" / "tenantry"
CHECKOV = config.BIN / "checkov"
CHECKOV_CONFIG = CHART / "checkov.yaml"
VALUES_FILES = sorted((CHART / "ci").glob("*.yaml"))


def scan(manifest_file) -> dict:
    assert CHECKOV.exists(), f"{CHECKOV} is missing: `make deps` installs checkov"
    result = run_tool(CHECKOV, "--config-file", CHECKOV_CONFIG, "--output", "json", "--quiet", "-f", manifest_file,
                      check=False)
    report = json.loads(result.stdout)
    return report[0] if isinstance(report, list) else report


def failures(report: dict) -> list[str]:
    return [f"{check['check_id']} {check['check_name']}: {check['resource']}"
            for check in report.get("results", {}).get("failed_checks", [])]


@pytest.mark.parametrize("values_file", VALUES_FILES, ids=lambda p: p.name)
def test_rendered_chart_passes_the_scan(values_file, tmp_path):
    rendered = tmp_path / "rendered.yaml"
    rendered.write_text(run_tool(config.BIN / "helm", "template", "r", CHART, "-n", "tenantry",
                                 "-f", values_file).stdout)
    report = scan(rendered)
    assert report["summary"]["passed"] > 100, report["summary"]
    assert failures(report) == []


def test_the_scan_fails_a_hardening_mistake(tmp_path):
    """The scan would catch what the chart avoids: a privileged root container."""
    manifest = tmp_path / "bad.yaml"
    manifest.write_text("""
apiVersion: v1
kind: Pod
metadata: {name: bad, namespace: tenantry}
spec:
  containers:
    - name: app
      image: example.org/app:1
      securityContext: {privileged: true, runAsUser: 0}
""")
    failed = failures(scan(manifest))
    assert any(line.startswith("CKV_K8S_16 ") for line in failed), failed  # privileged container


def test_every_chart_wide_exception_says_why():
    lines = CHECKOV_CONFIG.read_text().splitlines()
    skipped = [i for i, line in enumerate(lines) if re.match(r"\s+- CKV", line)]
    assert skipped, "checkov.yaml lists no skipped checks"
    for i in skipped:
        assert lines[i - 1].strip().startswith("#"), f"{lines[i].strip()} has no reason above it"
