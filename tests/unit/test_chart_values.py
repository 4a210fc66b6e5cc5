"""The chart's values.yaml: every value documented with a `# --` comment, covered by the schema, and
the README's values table generated from it."""
import importlib.util
import json
import subprocess
import sys

import jsonschema
import pytest
import yaml

from localplatform import config

CHART = config.ROOT / "charts" / "tenantry"
VALUES_TEXT = (CHART / "values.yaml").read_text()
VALUES = yaml.safe_load(VALUES_TEXT)
SCHEMA = json.loads((CHART / "values.schema.json").read_text())


def _gen_readme():
    spec = importlib.util.spec_from_file_location("gen_readme", CHART / "gen-readme.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _leaf_paths(node, prefix=()):
    """Every dotted path of values.yaml down to a scalar, a list or an empty mapping."""
    if isinstance(node, dict) and node:
        for key, value in node.items():
            yield from _leaf_paths(value, (*prefix, key))
    else:
        yield ".".join(prefix)


def test_every_value_has_a_dash_dash_comment_directly_above_it():
    lines = VALUES_TEXT.splitlines()
    documented = dict(_gen_readme().documented_values(VALUES_TEXT))
    # Each documented key's line really has `# --` directly above its comment block …
    for path in documented:
        key = path.rsplit(".", 1)[-1]
        candidates = [n for n, line in enumerate(lines) if line.strip().startswith(f"{key}:")]
        assert any(lines[n - 1].lstrip().startswith("#") and _block_start(lines, n).startswith("# --")
                   for n in candidates), f"{path}: no `# --` comment directly above it"
    # … and every leaf of the loaded YAML is a documented value or inside one.
    undocumented = [leaf for leaf in _leaf_paths(VALUES)
                    if not any(leaf == p or leaf.startswith(p + ".") for p in documented)]
    assert not undocumented, f"values without a `# --` comment directly above them: {undocumented}"


def _block_start(lines: list[str], number: int) -> str:
    above = number - 1
    while above > 0 and lines[above - 1].strip().startswith("#"):
        above -= 1
    return lines[above].strip()


def test_the_comment_check_names_an_undocumented_value():
    module = _gen_readme()
    with pytest.raises(module.Undocumented, match="`web.replicas`"):
        module.documented_values("web:\n  # -- documented\n  port: 1\n  # a plain comment\n  replicas: 2\n")


def test_every_documented_value_is_in_the_schema_and_the_schema_forbids_others():
    assert SCHEMA["$schema"] == "http://json-schema.org/draft-07/schema#"
    for path, _ in _gen_readme().documented_values(VALUES_TEXT):
        node = SCHEMA
        for key in path.split("."):
            assert node.get("additionalProperties") is False, f"{path}: an object above it allows any key"
            assert key in node["properties"], f"{path} is missing from values.schema.json"
            node = node["properties"][key]


def test_monitoring_is_off_by_default():
    """kube-prometheus-stack users turn it on; without prometheus-operator's CRDs it would not install."""
    assert VALUES["monitoring"] == {"enabled": False, "additionalLabels": {}, "interval": ""}


def test_the_data_tier_is_on_by_default():
    assert VALUES["pgbouncer"]["enabled"] is True and VALUES["pgbouncer"]["exporter"]["enabled"] is False
    assert VALUES["redis"]["enabled"] is True and VALUES["networkPolicy"]["enabled"] is True


def test_the_schema_requires_a_redis_url_only_for_an_external_redis_without_an_existing_secret():
    def errors(redis_enabled: bool, redis_url: str, existing_secret: str = "") -> list[str]:
        values = json.loads(json.dumps(VALUES))
        values.update(baseDomain="tenantry.example.com")
        values["redis"]["enabled"] = redis_enabled
        values["secrets"].update(redisUrl=redis_url, existingSecret=existing_secret, secretKey="k")
        values["database"]["password"] = "p"
        return [e.message for e in jsonschema.Draft7Validator(SCHEMA).iter_errors(values)]

    assert not errors(True, "")
    assert errors(False, "")
    assert not errors(False, "redis://cache:6379/0")
    assert not errors(False, "", existing_secret="app-secrets")


def test_the_readme_values_table_is_up_to_date():
    result = subprocess.run([sys.executable, str(CHART / "gen-readme.py"), "--check"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    readme = (CHART / "README.md").read_text()
    for path, _ in _gen_readme().documented_values(VALUES_TEXT):
        assert f"| `{path}` |" in readme
