"""The local Prometheus' configuration: the jobs the dashboards select on, and a file promtool accepts."""
import json
import shutil

import pytest
import yaml

from harness import run_tool
from localplatform.components import scrape_targets
from localplatform.prometheus import JOBS, duration, render, scrape_config


def test_durations_are_whole_seconds_or_milliseconds():
    assert duration(5) == "5s"
    assert duration(0.5) == "500ms"
    assert duration(1.25) == "1250ms"


def test_every_job_the_dashboards_use_is_scraped_at_its_address():
    rendered = yaml.safe_load(render(scrape_targets(28090, 28081), interval_seconds=1))
    jobs = {job["job_name"]: job["static_configs"][0]["targets"] for job in rendered["scrape_configs"]}
    assert tuple(jobs) == JOBS
    assert jobs["web"] == ["127.0.0.1:28090"] and jobs["operator"] == ["127.0.0.1:28081"]
    assert jobs["pgbouncer"] == ["127.0.0.1:19127"] and jobs["redis"] == ["127.0.0.1:19121"]
    assert rendered["global"] == {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"}


def test_rule_files_are_listed_only_when_given():
    assert scrape_config({"web": ["127.0.0.1:1"]})["rule_files"] == []
    assert scrape_config({"web": ["127.0.0.1:1"]}, rule_files=["/r.yaml"])["rule_files"] == ["/r.yaml"]


def test_a_job_no_dashboard_knows_is_refused():
    with pytest.raises(ValueError, match="webb"):
        scrape_config({"webb": ["127.0.0.1:1"]})


def test_promtool_accepts_the_rendered_configuration(tmp_path):
    promtool = shutil.which("promtool")
    assert promtool, "promtool is missing: Debian's `prometheus` package installs it (`make deps`)"
    rules = tmp_path / "rules.yaml"
    rules.write_text(json.dumps({"groups": [{"name": "g", "rules": [{"alert": "A", "expr": "up == 0"}]}]}))
    config_file = tmp_path / "prometheus.yml"
    config_file.write_text(render(scrape_targets(28090, 28081), interval_seconds=0.5, rule_files=[str(rules)]))
    result = run_tool(promtool, "check", "config", config_file)
    assert "SUCCESS" in result.stdout + result.stderr
