"""The Dockerfile's build steps that need the front-end packages `make deps` installs (npm's
chart.js), run as the image build runs them: no service, placeholders instead of secrets."""
import os
import subprocess

import pytest

from localplatform import config

pytestmark = pytest.mark.integration


def test_the_image_build_step_collects_static_files_without_any_service(tmp_path):
    """The Dockerfile's collectstatic step, run the same way."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tenantry.settings", "DJANGO_SECRET_KEY": "build",
           "DATABASE_URL": "postgresql://build@localhost/build", "REDIS_URL": "redis://localhost",
           "DJANGO_STATIC_ROOT": str(tmp_path)}
    subprocess.run([str(config.VENV / "bin" / "python"), "-m", "django", "collectstatic", "--noinput",
                    "--verbosity", "0"], env=env, check=True, capture_output=True)
    assert (tmp_path / "vendor" / "chart.js" / "chart.umd.min.js").exists()
    assert (tmp_path / "tenantry" / "site.css").exists()
