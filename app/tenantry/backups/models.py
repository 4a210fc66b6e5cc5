"""A record of every backup run, in the public schema, so that a missed or failing backup shows up
in metrics and alerts instead of at the moment somebody needs to restore."""
from django.db import models


class BackupRun(models.Model):
    class Kind(models.TextChoices):
        SCHEDULED = "scheduled"  # the tenant's CronJob
        MANUAL = "manual"  # a person: the backup-now annotation or the command
        FINAL = "final"  # before a Delete policy drops the schema

    # Kept when the tenant row goes (a final backup outlives its tenant): the schema says whose it was.
    tenant = models.ForeignKey("tenancy.Tenant", null=True, on_delete=models.SET_NULL, related_name="backup_runs")
    schema = models.CharField(max_length=63)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True)
    succeeded = models.BooleanField(null=True)  # None while running
    error = models.TextField(blank=True)
    path = models.CharField(max_length=1000, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)

    class Meta:
        indexes = [models.Index(fields=["tenant", "-started_at"]), models.Index(fields=["-started_at"])]

    def __str__(self) -> str:
        outcome = {True: "ok", False: "failed", None: "running"}[self.succeeded]
        return f"{self.kind} backup of {self.schema} at {self.started_at:%Y-%m-%d %H:%M} ({outcome})"
