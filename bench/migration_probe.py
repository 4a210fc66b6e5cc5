"""A next release for fleet-migration tests and the benchmark: the projects app's migrations plus
one more, written as a migrations package outside the source tree and selected with Django's
MIGRATION_MODULES, so no test migration ever sits beside the real ones.

The probe is the benchmark's "one real migration": a column with a default and an index on the
projects table. `RUN_PYTHON` is a probe that only Django's own `migrate` can apply.
"""
import shutil
import sys
import uuid
from contextlib import contextmanager
from pathlib import Path

APP_MIGRATIONS = Path(__file__).resolve().parent.parent / "app" / "tenantry" / "projects" / "migrations"
PROBE_NAME = "9001_priority"
COLUMN_PROBE = '''from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("projects", "{previous}")]
    operations = [
        migrations.AddField("project", "<column>", models.IntegerField(default=0, db_default=0)),
        migrations.AddIndex("project", models.Index(fields=["<column>"], name="projects_<column>_idx")),
    ]
'''


def column_probe(column: str) -> str:
    """A migration adding `column` (an integer with a default) and an index on it to the projects
    table; `{previous}` is left for write_release to fill."""
    return COLUMN_PROBE.replace("<column>", column)


PROBE = column_probe("priority")
RUN_PYTHON = '''from django.db import migrations


def forwards(apps, schema_editor):
    schema_editor.execute("CREATE TABLE projects_probe_python (id integer)")


class Migration(migrations.Migration):
    dependencies = [("projects", "{previous}")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
'''


def latest_real() -> str:
    return max(path.stem for path in APP_MIGRATIONS.glob("[0-9]*.py"))


def write_release(root: Path, probe: str = PROBE, name: str = PROBE_NAME) -> dict[str, str]:
    """Write the release's migrations package under `root` (put on sys.path) and a settings module
    beside it; return {"package": ..., "settings": ...}, module names unique to this call."""
    package = f"fleet_release_{uuid.uuid4().hex[:8]}"
    migrations = root / package / "projects"
    migrations.mkdir(parents=True)
    (root / package / "__init__.py").write_text("")
    (migrations / "__init__.py").write_text("")
    for path in APP_MIGRATIONS.glob("[0-9]*.py"):
        shutil.copy(path, migrations / path.name)
    (migrations / f"{name}.py").write_text(probe.format(previous=latest_real()))
    (root / f"{package}_settings.py").write_text(
        f"from tenantry.settings import *  # noqa: F403\n\nMIGRATION_MODULES = {{'projects': '{package}.projects'}}\n")
    return {"package": f"{package}.projects", "settings": f"{package}_settings"}


@contextmanager
def release(root: Path, probe: str = PROBE, name: str = PROBE_NAME):
    """In this process: Django sees the release's migrations inside the block. Yields its Target."""
    from django.db.migrations.loader import MigrationLoader
    from django.test.utils import override_settings

    from tenantry.tenancy.fleet.target import Target

    modules = write_release(root, probe, name)
    sys.path.insert(0, str(root))
    try:
        with override_settings(MIGRATION_MODULES={"projects": modules["package"]}):
            yield Target.from_loader(MigrationLoader(None, ignore_no_migrations=True))
    finally:
        sys.path.remove(str(root))
