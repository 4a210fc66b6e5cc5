"""The alert rules and dashboard queries through Prometheus' own tool: `promtool check rules` parses
them, and `promtool test rules` runs dashboards/alerts-tests.yaml, which must cover every alert both
firing and not firing."""
import json
import shutil
from pathlib import Path

import pytest
import yaml

from harness import run_tool
from localplatform import config

pytestmark = pytest.mark.integration

DASHBOARDS = config.ROOT / "dashboards"
ALERTS = DASHBOARDS / "alerts.yaml"
ALERT_TESTS = DASHBOARDS / "alerts-tests.yaml"
# What Grafana substitutes before a query reaches Prometheus.
GRAFANA_VALUES = {"$__rate_interval": "1m", "$__range": "1h", "$tenant": "acme"}


def promtool(*args) -> str:
    binary = shutil.which("promtool")
    assert binary, "promtool is missing: it comes with Debian's `prometheus` package (`make deps` installs it)"
    return run_tool(binary, *args).stdout


def _alert_names() -> list[str]:
    return [rule["alert"] for group in yaml.safe_load(ALERTS.read_text())["groups"] for rule in group["rules"]]


def test_promtool_checks_the_rules():
    assert f"SUCCESS: {len(_alert_names())} rules found" in promtool("check", "rules", ALERTS)


def test_promtool_unit_tests_pass():
    assert "SUCCESS" in promtool("test", "rules", ALERT_TESTS)


def test_every_alert_is_tested_firing_and_not_firing():
    cases = [case for test in yaml.safe_load(ALERT_TESTS.read_text())["tests"] for case in test["alert_rule_test"]]
    firing = {case["alertname"] for case in cases if case["exp_alerts"]}
    silent = {case["alertname"] for case in cases if not case["exp_alerts"]}
    names = set(_alert_names())
    assert names - firing == set(), "alerts never tested firing"
    assert names - silent == set(), "alerts never tested not firing"
    assert (firing | silent) - names == set(), "tests of alerts that do not exist"


def test_a_wrong_expectation_fails_the_unit_tests(tmp_path: Path):
    """The unit tests can fail: the same file with one expected severity changed is refused."""
    shutil.copy(ALERTS, tmp_path / "alerts.yaml")
    broken = ALERT_TESTS.read_text().replace("{severity: critical}", "{severity: warning}", 1)
    (tmp_path / "alerts-tests.yaml").write_text(broken)
    result = run_tool(shutil.which("promtool"), "test", "rules", tmp_path / "alerts-tests.yaml", check=False)
    assert result.returncode != 0 and "FAILED" in result.stdout + result.stderr


def test_every_dashboard_query_parses(tmp_path: Path):
    """Each panel's PromQL, with Grafana's variables substituted, as a recording rule promtool parses."""
    rules = []
    for path in sorted(DASHBOARDS.glob("*.json")):
        for panel in json.loads(path.read_text())["panels"]:
            for target in panel.get("targets", []):
                expr = target["expr"]
                for variable, value in GRAFANA_VALUES.items():
                    expr = expr.replace(variable, value)
                assert "$" not in expr, f"{path.name}/{panel['title']}: unsubstituted variable in {expr}"
                rules.append({"record": f"dashboard:query_{len(rules)}:check", "expr": expr})
    assert len(rules) > 40
    rules_file = tmp_path / "dashboard-queries.yaml"
    rules_file.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    assert f"SUCCESS: {len(rules)} rules found" in promtool("check", "rules", rules_file)


def test_promtool_accepts_the_local_prometheus_configuration(tmp_path):
    from localplatform.components import scrape_targets
    from localplatform.prometheus import render

    rules = tmp_path / "rules.yaml"
    rules.write_text(json.dumps({"groups": [{"name": "g", "rules": [{"alert": "A", "expr": "up == 0"}]}]}))
    config_file = tmp_path / "prometheus.yml"
    config_file.write_text(render(scrape_targets(28090, 28081), interval_seconds=0.5, rule_files=[str(rules)]))
    assert "SUCCESS" in promtool("check", "config", str(config_file))
