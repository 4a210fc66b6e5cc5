"""The files that ship: the Dockerfile lints clean and runs what `make up` runs; the CRD's conventions."""
import json
import subprocess

import yaml

from localplatform import config

CRD = config.ROOT / "charts" / "tenantry" / "crds" / "tenants.tenantry.dev.yaml"


def test_dockerfile_passes_hadolint():
    result = subprocess.run([str(config.VENV / "bin" / "hadolint"), str(config.ROOT / "Dockerfile")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_runs_the_command_the_local_platform_runs():
    from localplatform.components import web

    cmd = next(line for line in (config.ROOT / "Dockerfile").read_text().splitlines() if line.startswith("CMD "))
    argv = web().argv()
    assert json.loads(cmd.removeprefix("CMD ")) == ["gunicorn", *argv[1:]]


def test_crd_serves_the_tenant_api_conventions():
    crd = yaml.safe_load(CRD.read_text())
    version = crd["spec"]["versions"][0]
    assert crd["spec"]["names"]["shortNames"] == ["tn"] and crd["spec"]["names"]["categories"] == ["tenantry"]
    assert version["subresources"] == {"status": {}}
    assert [c["name"] for c in version["additionalPrinterColumns"]] == ["Domain", "Plan", "Phase", "Ready", "Migrated",
                                                                     "Pending", "Age"]

