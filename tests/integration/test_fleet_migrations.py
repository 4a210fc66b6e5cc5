"""Fleet migrations against the real PostgreSQL: the survey, a rollout of a next release (one more
migration, written outside the source tree), canaries, failures, and a rollout killed half way."""
import io
import os
import signal
import subprocess
import sys
import threading
import time
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bench import migration_probe
from harness import new_tenant
from localplatform import config
from localplatform.components import app_env
from tenantry.tenancy.fleet import rollout, survey, target
from tenantry.tenancy.models import Tenant
from testkit.net import direct

pytestmark = pytest.mark.integration


def fleet(count: int, canaries: int = 0) -> tuple[str, list[str]]:
    """`count` tenants of a namespace of their own (the first `canaries` of them canaries)."""
    namespace = f"fleet-{uuid.uuid4().hex[:6]}"
    schemas = []
    for i in range(count):
        name = f"f{uuid.uuid4().hex[:8]}"
        schemas.append(new_tenant(name=name, resource=f"{namespace}/{name}", canary=i < canaries).schema)
    return namespace, schemas


def probe_recorded(schema: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT count(*) FROM "{schema}".django_migrations WHERE app = %s AND name = %s',
                       ["projects", migration_probe.PROBE_NAME])
        return cursor.fetchone()[0]


def has_priority(schema: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM information_schema.columns WHERE table_schema = %s "
                       "AND table_name = 'projects_project' AND column_name = 'priority'", [schema])
        return cursor.fetchone() is not None


def sabotage(schema: str) -> None:
    """Make the probe's ADD COLUMN fail in this schema only."""
    with connection.cursor() as cursor:
        cursor.execute(f'ALTER TABLE "{schema}".projects_project ADD COLUMN priority text')


def test_the_survey_of_a_current_fleet_costs_a_handful_of_queries(database):
    namespace, schemas = fleet(5)
    deployed = target.deployed()
    with CaptureQueriesContext(connection) as queries:
        states = survey.survey(deployed, namespace)
    statements = [q["sql"] for q in queries if not q["sql"].startswith("SET search_path")]
    assert len(statements) == 2, statements  # the tenants, then one UNION ALL for up to 200 schemas
    assert sorted(s.schema for s in states) == sorted(schemas)
    assert all(s.pending == 0 and s.version == deployed.version for s in states), states
    assert survey.summary(states, deployed)["current"] == 5


def test_a_new_migration_reaches_every_tenant_once_canaries_first(database, tmp_path):
    namespace, schemas = fleet(4, canaries=1)
    with migration_probe.release(tmp_path) as release:
        before = survey.survey(release, namespace)
        assert all(s.pending == 1 and s.version == target.deployed().version for s in before), before
        report = rollout.rollout(release, before, parallel=2, batch_size=2)
        assert report.canaries == [schemas[0]]
        assert report.migrated[0] == schemas[0], "the canary goes first"
        assert sorted(report.migrated) == sorted(schemas) and not report.failed and not report.stopped
        after = survey.survey(release, namespace)
        assert all(s.pending == 0 and s.version == release.version for s in after), after
        assert not rollout.rollout(release, after).migrated, "a second run has nothing to do"
    assert all(has_priority(schema) and probe_recorded(schema) == 1 for schema in schemas)


def test_a_failing_canary_stops_the_rollout_before_any_other_tenant(database, tmp_path):
    namespace, schemas = fleet(3, canaries=1)
    sabotage(schemas[0])
    with migration_probe.release(tmp_path) as release:
        report = rollout.rollout(release, survey.survey(release, namespace))
        assert report.stopped.startswith(f"canary {schemas[0]} failed: ")
        assert "already exists" in report.stopped
        assert report.migrated == []
        assert not any(probe_recorded(schema) for schema in schemas)
        canary = Tenant.objects.get(schema_name=schemas[0])
        assert "already exists" in canary.migration_error and canary.migration_failed_version == release.version
        # The operator's loop leaves a recently failed canary alone, and so holds everyone else.
        held = rollout.plan(survey.survey(release, namespace), release, retry_after=300)
        assert held.held.startswith(f"canary {schemas[0]} failed") and not held.canaries and not held.rest


def test_after_the_canaries_a_failing_tenant_is_marked_and_the_rest_go_on(database, tmp_path):
    namespace, schemas = fleet(4, canaries=1)
    broken = schemas[2]
    sabotage(broken)
    with migration_probe.release(tmp_path) as release:
        report = rollout.rollout(release, survey.survey(release, namespace), parallel=2, batch_size=1)
        assert list(report.failed) == [broken] and not report.stopped
        assert sorted(report.migrated) == sorted(set(schemas) - {broken})
        states = {s.schema: s for s in survey.survey(release, namespace)}
        assert states[broken].pending == 1 and "already exists" in states[broken].failure
        assert survey.summary(states.values(), release)["failed"] == 1
        with connection.cursor() as cursor:  # the schema is repaired; the next run migrates it
            cursor.execute(f'ALTER TABLE "{broken}".projects_project DROP COLUMN priority')
        retried = rollout.rollout(release, survey.survey(release, namespace))
        assert retried.migrated == [broken]
    assert Tenant.objects.get(schema_name=broken).migration_error == ""
    assert all(probe_recorded(schema) == 1 for schema in schemas)


def test_a_migration_that_runs_python_is_left_to_django_migrate(database, tmp_path):
    namespace, schemas = fleet(2)
    with migration_probe.release(tmp_path, migration_probe.RUN_PYTHON, "9002_python") as release:
        report = rollout.rollout(release, survey.survey(release, namespace))
        assert sorted(report.migrated) == sorted(schemas)
        assert all(s.pending == 0 for s in survey.survey(release, namespace))
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_tables WHERE tablename = 'projects_probe_python' "
                       "AND schemaname = ANY(%s)", [schemas])
        assert cursor.fetchone()[0] == 2


def test_a_rollout_killed_half_way_resumes_and_applies_each_migration_once(database, tmp_path):
    """The command is killed (SIGKILL) while it waits for a lock the test holds on the third
    schema's table, two schemas migrated; a second run finishes the rest."""
    namespace, schemas = fleet(6)
    schemas.sort()  # the order a rollout takes them in
    release = migration_probe.write_release(tmp_path)
    env = {**os.environ, **app_env(database, pooled=False), "DJANGO_SETTINGS_MODULE": release["settings"],
           "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])}
    command = [sys.executable, "-m", "django", "migrate_tenants", f"--namespace={namespace}", "--parallel=1",
               "--batch-size=1", "--lock-timeout=60"]
    with direct(database) as holder:
        holder.execute("BEGIN")
        holder.execute(f'LOCK TABLE "{schemas[2]}".projects_project IN ACCESS SHARE MODE')
        runner = subprocess.Popen(command, env=env, cwd=config.ROOT / "app", stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True, start_new_session=True)
        try:
            with direct(database) as watcher:
                for _ in range(300):
                    waiting = watcher.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                              "AND application_name = 'tenantry-fleet-migrate'").fetchone()[0]
                    if waiting:
                        break
                    assert runner.poll() is None, runner.stdout.read()
                    time.sleep(0.1)
                else:
                    raise AssertionError("the rollout never reached the locked schema")
        finally:
            os.killpg(runner.pid, signal.SIGKILL)
            runner.wait()
        holder.execute("ROLLBACK")
    assert [probe_recorded(schema) for schema in schemas] == [1, 1, 0, 0, 0, 0], "killed half way"
    finished = subprocess.run(command, env=env, cwd=config.ROOT / "app", capture_output=True, text=True, timeout=120)
    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert "4 migrated, 0 failed" in finished.stdout
    assert [probe_recorded(schema) for schema in schemas] == [1] * 6
    assert all(has_priority(schema) for schema in schemas)


def test_a_lost_connection_interrupts_the_rollout_without_blaming_the_schema(database, tmp_path):
    """The backend migrating the third schema is terminated while it waits for a lock the test holds
    (as a PostgreSQL restart would end it): the rollout stops, marks nobody, the next run finishes."""
    namespace, schemas = fleet(4)
    schemas.sort()

    def terminate_the_waiting_migration() -> None:
        with direct(database) as killer:
            for _ in range(200):
                if killer.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                  "WHERE wait_event_type = 'Lock' AND application_name = 'tenantry-fleet-migrate'"
                                  ).fetchone()[0]:
                    return
                time.sleep(0.05)

    with migration_probe.release(tmp_path) as release, direct(database) as holder:
        holder.execute("BEGIN")
        holder.execute(f'LOCK TABLE "{schemas[2]}".projects_project IN ACCESS SHARE MODE')
        killer = threading.Thread(target=terminate_the_waiting_migration)
        killer.start()
        report = rollout.rollout(release, survey.survey(release, namespace), parallel=1, batch_size=1)
        killer.join()
        holder.execute("ROLLBACK")
        assert report.interrupted.startswith(f"at {schemas[2]}: "), report
        assert report.migrated == schemas[:2] and not report.failed
        assert Tenant.objects.get(schema_name=schemas[2]).migration_error == ""
        resumed = rollout.rollout(release, survey.survey(release, namespace))
        assert resumed.migrated == schemas[2:] and not resumed.interrupted
    assert [probe_recorded(schema) for schema in schemas] == [1] * 4


def test_a_no_op_deploy_costs_the_same_few_queries_for_few_or_many_tenants(database):
    """No Django `migrate` per schema: the command's queries do not grow with the fleet."""
    from django.core.management import call_command

    def queries_of_a_deploy(namespace: str) -> list[str]:
        with CaptureQueriesContext(connection) as captured:
            call_command("migrate_tenants", namespace=namespace, verbosity=0, stdout=io.StringIO())
        return [q["sql"] for q in captured if not q["sql"].startswith("SET search_path")]

    small, _ = fleet(2)
    large, _ = fleet(12)
    assert len(queries_of_a_deploy(small)) == len(queries_of_a_deploy(large)) <= 5
