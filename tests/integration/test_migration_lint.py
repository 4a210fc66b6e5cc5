"""Every migration of ours stays backward compatible: a deploy migrates the public schema, the template
and every tenant schema while the previous release's pods keep serving (docs/migrations.md), so a
migration must not break the code before it. django-migration-linter reads the SQL of each migration
(`sqlmigrate`) and flags what the old code cannot survive: NOT NULL columns without a database default,
dropped or renamed columns and tables, type changes, new unique constraints.

The linter is not in INSTALLED_APPS (production settings stay as they are): its Python API runs here.
"""
import importlib
import io
import shutil
import uuid
from contextlib import redirect_stdout
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, router
from django.db.migrations.loader import MigrationLoader
from django.test.utils import override_settings
from django_migration_linter import MigrationLinter
from django_tenants.utils import get_public_schema_name, schema_context

pytestmark = pytest.mark.integration

# Migrations the linter flags that were reviewed and are fine, each with the reason. Key: (app label,
# migration name). Add an entry only after review; a stale entry (the migration is gone) fails the test.
REVIEWED = {
    ("tenancy", "0002_backups_enabled"): "shipped before this check: NOT NULL with a Python default only; "
                                         "new columns get a db_default (docs/migrations.md)",
}


class Linter(MigrationLinter):
    """The linter, skipping the reviewed migrations (its own ignore list matches names, not apps)."""

    def should_ignore_migration(self, app_label, migration_name, operations=(), is_initial=False):
        return (app_label, migration_name) in REVIEWED or super().should_ignore_migration(
            app_label, migration_name, operations, is_initial=is_initial)


def our_apps() -> dict[str, list[str]]:
    """Our apps with migrations (third-party ones are not ours to fix), by the schema they migrate in:
    shared apps in the public schema, tenant apps in the template every tenant schema is cloned from.
    sqlmigrate asks the tenant router, so an app linted in the wrong schema would yield no SQL at all."""
    by_schema: dict[str, list[str]] = {}
    for config in apps.get_app_configs():
        if config.name.startswith("tenantry.") and (Path(config.path) / "migrations").is_dir():
            schema = (get_public_schema_name() if config.name in settings.SHARED_APPS
                      else settings.TENANTRY_TEMPLATE_SCHEMA)
            by_schema.setdefault(schema, []).append(config.label)
    return by_schema


def lint(by_schema: dict[str, list[str]]) -> tuple[list[Linter], str]:
    linters, out = [], io.StringIO()
    with redirect_stdout(out):
        for schema, labels in by_schema.items():
            with schema_context(schema):
                for label in labels:
                    assert router.allow_migrate(DEFAULT_DB_ALIAS, label), f"{label} does not migrate in {schema}"
                # The project's own backend (tenantry.db) is PostgreSQL; the linter guesses from the ENGINE path.
                linter = Linter(no_cache=True, analyser_string=connection.vendor)
                for label in labels:
                    linter.lint_all_migrations(app_label=label)
                linter.print_summary()
                linters.append(linter)
    return linters, out.getvalue()


def test_our_migrations_are_backward_compatible(database):
    by_schema = our_apps()
    assert "projects" in by_schema[settings.TENANTRY_TEMPLATE_SCHEMA]
    on_disk = set(MigrationLoader(None, ignore_no_migrations=True).disk_migrations)
    assert not set(REVIEWED) - on_disk, f"REVIEWED names migrations that no longer exist: {set(REVIEWED) - on_disk}"
    linters, report = lint(by_schema)
    print(report)  # warnings do not fail the test; `pytest -rA` shows them
    ours = {key for key in on_disk if key[0] in sum(by_schema.values(), [])}
    assert sum(linter.nb_total for linter in linters) == len(ours), report
    assert not any(linter.has_errors for linter in linters), (
        "a migration would break the pods still running the previous release; split it into expand and "
        f"contract steps (docs/migrations.md), or add a reviewed exception to REVIEWED:\n{report}")


EXPAND = """from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [{leaf!r}]
    operations = [
        migrations.AddField("project", "lint_probe_nullable", models.IntegerField(null=True)),
        migrations.AddField("project", "lint_probe_db_default", models.IntegerField(db_default=0)),
    ]
"""

CONTRACT = """from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("projects", "9998_lint_probe_expand")]
    operations = [
        # The previous release's INSERTs do not name this column: NOT NULL without a database default fails them.
        migrations.AddField("project", "lint_probe", models.IntegerField(default=0)),
        # The previous release's SELECTs name this column.
        migrations.RemoveField("project", "description"),
    ]
"""


def test_a_backward_incompatible_migration_fails_the_check(database, tmp_path, monkeypatch):
    """The projects app's migrations plus throw-away ones in a package under tmp_path: an expand step
    the old code survives, then a breaking one."""
    real = importlib.import_module("tenantry.projects.migrations")
    (leaf,) = MigrationLoader(None, ignore_no_migrations=True).graph.leaf_nodes("projects")
    package = f"lint_probe_{uuid.uuid4().hex[:8]}"
    shutil.copytree(Path(real.__file__).parent, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / package / "9998_lint_probe_expand.py").write_text(EXPAND.format(leaf=leaf))
    (tmp_path / package / "9999_lint_probe_contract.py").write_text(CONTRACT)
    monkeypatch.syspath_prepend(str(tmp_path))
    with override_settings(MIGRATION_MODULES={"projects": package}):
        (linter,), report = lint({settings.TENANTRY_TEMPLATE_SCHEMA: ["projects"]})
    assert "(projects, 9998_lint_probe_expand)... OK" in report, report
    assert "(projects, 9999_lint_probe_contract)... ERR" in report, report
    assert linter.nb_erroneous == 1, report
    assert "NOT NULL constraint on columns" in report and "DROPPING columns" in report, report
