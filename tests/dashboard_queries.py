"""Asking a Prometheus what every Grafana dashboard panel would show: the dashboards' PromQL with
their template variables put in as Grafana does, and whether each query returns a value that is not
NaN (Grafana shows NaN as no value). Shared by the data test of `make up`'s Prometheus
(tests/integration) and the one of the node's Prometheus Operator (tests/cluster)."""
import contextlib
import math
import re

import requests

from testkit import polling

# Grafana's built-in variables, with windows wide enough to hold a test's load and a few scrapes.
BUILTINS = {"__rate_interval": "1m", "__interval": "15s", "__interval_ms": "15000", "__range": "5m",
            "__range_s": "300", "__range_ms": "300000"}
VARIABLE = re.compile(r"\$\{(\w+)(?::[^}]*)?\}|\[\[(\w+)(?::[^\]]*)?\]\]|\$(\w+)")
LABEL_VALUES = re.compile(r"^label_values\(\s*(?:(?P<match>.+?)\s*,\s*)?(?P<label>\w+)\s*\)$")


# --- reading dashboards ---------------------------------------------------------------------------

def panels(dashboard: dict) -> list[dict]:
    """Every panel, including those inside collapsed rows."""
    found = []
    for panel in dashboard.get("panels", []):
        found.append(panel)
        found.extend(panel.get("panels", []))
    return found


def queries(dashboard: dict) -> list[tuple[str, str]]:
    """(panel title, PromQL) for each target of each panel."""
    return [(panel.get("title", f"panel {panel.get('id')}"), target["expr"])
            for panel in panels(dashboard) for target in panel.get("targets", []) if target.get("expr")]


def substitute(expr: str, values: dict[str, str]) -> str:
    """$name, ${name}, ${name:format} and [[name]] replaced; an undefined name raises KeyError."""
    return VARIABLE.sub(lambda m: values[m.group(1) or m.group(2) or m.group(3)], expr)


# --- asking Prometheus ----------------------------------------------------------------------------

def api(prometheus_url: str, path: str, **params) -> object:
    response = requests.get(f"{prometheus_url}/api/v1/{path}", params=params, timeout=10)
    body = response.json()
    assert body.get("status") == "success", f"Prometheus refused {path} {params}: {body.get('error')}"
    return body["data"]


def has_data(prometheus_url: str, expr: str) -> bool:
    data = api(prometheus_url, "query", query=expr)
    if data["resultType"] == "scalar":
        samples = [data["result"][1]]
    else:
        samples = [series["value"][1] for series in data["result"]]
    return any(not math.isnan(float(value)) for value in samples)


def variable_values(prometheus_url: str, dashboard: dict,
                    chosen: dict[str, list[str]]) -> tuple[dict[str, str], list[str]]:
    """One value per template variable, and the variables without one: a query variable takes the
    first of the values `chosen` for it that its own query offers (a person picks the tenant the load
    went to, or `__other__` once earlier tenants filled the label cap), else the first it offers; the
    others take their current value."""
    values, empty = dict(BUILTINS), []
    for variable in dashboard.get("templating", {}).get("list", []):
        name, kind = variable["name"], variable["type"]
        if kind == "datasource":
            values[name] = "prometheus"
        elif kind == "query":
            query = variable["query"]["query"] if isinstance(variable["query"], dict) else variable["query"]
            parsed = LABEL_VALUES.match(substitute(query, values).strip())
            assert parsed, f"{dashboard['title']}: variable ${name}: this test reads only label_values(), not {query!r}"
            match = {"match[]": parsed["match"]} if parsed["match"] else {}
            found = api(prometheus_url, f"label/{parsed['label']}/values", **match)
            wanted = [value for value in chosen.get(name, []) if value in found]
            if name in chosen and not wanted:
                empty.append(f"variable ${name}: none of {chosen[name]} among {found} from {query}")
            elif found:
                values[name] = (wanted or found)[0]
            else:
                empty.append(f"variable ${name}: no values for {query}")
        else:
            current = variable.get("current", {}).get("value") or variable.get("query", "")
            values[name] = current[0] if isinstance(current, list) else current
    return values, empty


def without_data(prometheus_url: str, dashboards: dict[str, dict], chosen: dict[str, list[str]]) -> list[str]:
    """"<dashboard> / <panel>: why" for every panel query of `dashboards` ({name: dashboard}) that
    returns no value, with the template variables put in as Grafana would."""
    missing = []
    for name, dashboard in dashboards.items():
        values, empty = variable_values(prometheus_url, dashboard, chosen)
        missing.extend(f"{name} / {problem}" for problem in empty)
        for panel, expr in queries(dashboard):
            try:
                promql = substitute(expr, values)
            except KeyError as err:
                missing.append(f"{name} / {panel}: undefined variable ${err.args[0]} in {expr}")
                continue
            if not has_data(prometheus_url, promql):
                missing.append(f"{name} / {panel}: no data for {promql}")
    return missing


def target_health(prometheus_url: str) -> dict[str, str]:
    """job -> "up", or the last scrape error."""
    targets = api(prometheus_url, "targets")["activeTargets"]
    return {t["labels"]["job"]: "up" if t["health"] == "up" else t["lastError"] or t["health"] for t in targets}


def wait_until(problems, timeout: float, interval: float = 1):
    """Poll `problems` until it finds none or time is up; return what it found last (the caller's
    assertion then lists what never settled)."""
    last = None

    def settled() -> bool:
        nonlocal last
        last = problems()
        return not last

    with contextlib.suppress(polling.TimedOut):
        polling.wait_for(settled, "no problems", timeout, interval)
    return last
