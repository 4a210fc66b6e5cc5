"""The local Prometheus' configuration, rendered from the components' ports.

Prometheus reads YAML, and JSON is YAML, so the standard library's json writes it. The job names are
the ones the dashboards and alert rules select on (`up{job="operator"}`); a cluster's ServiceMonitors
give the same names.
"""
import json
from collections.abc import Iterable

JOBS = ("web", "operator", "postgres", "pgbouncer", "redis")


def duration(seconds: float) -> str:
    """A Prometheus duration: it takes no fractions ("1.5s" is invalid), so whole seconds or milliseconds."""
    millis = round(seconds * 1000)
    return f"{millis // 1000}s" if millis % 1000 == 0 else f"{millis}ms"


def scrape_config(targets: dict[str, list[str]], interval_seconds: float = 5,
                  rule_files: Iterable[str] = ()) -> dict:
    """One static job per name in `targets` ({job: ["host:port", ...]}), every job scraped at the same
    short interval, with a timeout no longer than the interval (Prometheus refuses a longer one)."""
    unknown = sorted(set(targets) - set(JOBS))
    if unknown:
        raise ValueError(f"unknown Prometheus jobs {unknown}: the dashboards know only {list(JOBS)}")
    interval = duration(interval_seconds)
    return {
        "global": {"scrape_interval": interval, "scrape_timeout": interval, "evaluation_interval": interval},
        "rule_files": list(rule_files),
        "scrape_configs": [{"job_name": job, "static_configs": [{"targets": list(targets[job])}]}
                           for job in JOBS if job in targets],
    }


def render(targets: dict[str, list[str]], interval_seconds: float = 5, rule_files: Iterable[str] = ()) -> str:
    return json.dumps(scrape_config(targets, interval_seconds, rule_files), indent=2) + "\n"
