from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from tenantry import env
from tenantry.tenancy.fleet import rollout, survey, target


class Command(BaseCommand):
    help = ("Bring every served tenant schema to the deployed migrations: one survey of the fleet, canary "
            "tenants first (a failing canary stops the rollout and this command fails), then the rest in "
            "batches on a bounded number of connections (a failing tenant is recorded on its row and the "
            "rollout goes on). Safe to interrupt and re-run: it resumes where it stopped.")

    def add_arguments(self, parser):
        parser.add_argument("--namespace", default=None,
                            help="only the tenants of Tenant resources in this namespace (default: all)")
        parser.add_argument("--parallel", type=int, default=env.integer("TENANTRY_MIGRATION_PARALLEL", 4),
                            help="connections migrating schemas at once (default 4, TENANTRY_MIGRATION_PARALLEL)")
        parser.add_argument("--batch-size", type=int, default=env.integer("TENANTRY_MIGRATION_BATCH", 50),
                            help="schemas per batch between progress reports (default 50)")
        parser.add_argument("--lock-timeout", type=float,
                            default=env.integer("TENANTRY_MIGRATION_LOCK_TIMEOUT_SECONDS", 10),
                            help="seconds a schema waits for a table lock before it fails (default 10)")

    def handle(self, *args, namespace, parallel, batch_size, lock_timeout, verbosity, **options):
        if parallel < 1 or batch_size < 1 or lock_timeout <= 0:
            raise CommandError("--parallel, --batch-size and --lock-timeout must be positive")
        if getattr(connection, "pooled", False):
            raise CommandError("migrations need a direct connection to PostgreSQL (session locks, a schema per "
                               "session): set TENANTRY_DB_POOLED=0 and point DATABASE_URL past PgBouncer")
        deployed = target.deployed()

        def progress(report: rollout.Report) -> None:
            if verbosity >= 1:
                self.stdout.write(f"  {len(report.migrated)} migrated, {len(report.failed)} failed "
                                  f"({report.seconds:.1f} s)")

        with rollout.exclusive(wait=True):  # after an operator's rollout that is running now
            states = survey.survey(deployed, namespace)
            fleet = survey.summary(states, deployed)
            self.stdout.write(f"target {deployed.version}: {fleet['current']} current, {fleet['behind']} behind, "
                              f"{fleet['failed']} failed before this run")
            report = rollout.rollout(deployed, states, parallel=parallel, batch_size=batch_size,
                                     lock_timeout_ms=int(lock_timeout * 1000), on_batch=progress)
        for schema, error in sorted(report.failed.items()):
            self.stderr.write(f"schema {schema} failed: {error}")
        if report.interrupted:
            raise CommandError(f"rollout interrupted, the database connection was lost {report.interrupted}; "
                               "run again to resume")
        if report.stopped:
            raise CommandError(f"rollout stopped: {report.stopped}; no other tenant was migrated")
        self.stdout.write(f"rollout to {deployed.version}: {len(report.migrated)} migrated, "
                          f"{len(report.failed)} failed, {len(report.moved)} changed meanwhile "
                          f"in {report.seconds:.1f} s")
