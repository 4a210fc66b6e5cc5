"""The local Prometheus' configuration: the jobs the dashboards select on (promtool's check of the file is
in tests/integration/test_alert_rules.py)."""
import pytest
import yaml

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
