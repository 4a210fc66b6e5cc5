"""Reads on backup runs, for the metrics collector and the alerts built on it."""
from datetime import datetime, timedelta

from django.db.models import Exists, OuterRef

from tenantry.backups.models import BackupRun
from tenantry.tenancy.models import Tenant


def backup_health(now: datetime, max_age_seconds: float) -> tuple[int, int]:
    """(overdue_tenants, failed_last_day): active tenants with backups enabled, older than
    `max_age_seconds`, without a successful backup that recent; and backup runs that failed in the
    day before `now`. Suspended tenants are left out: their CronJob is suspended."""
    cutoff = now - timedelta(seconds=max_age_seconds)
    recent = BackupRun.objects.filter(tenant=OuterRef("pk"), succeeded=True, finished_at__gte=cutoff)
    overdue = (Tenant.objects.filter(state=Tenant.State.ACTIVE, backups_enabled=True, created_at__lt=cutoff)
               .exclude(Exists(recent)).count())
    failed = BackupRun.objects.filter(succeeded=False, started_at__gte=now - timedelta(days=1),
                                      started_at__lte=now).count()
    return overdue, failed
