"""The dashboard's figures over the active tenant's projects, computed here and cached by
tenantry.dashboard.cache."""
from datetime import date, datetime, time, timedelta

from django.db.models import Count, Q
from django.db.models.functions import TruncWeek
from django.utils import timezone

from tenantry.dashboard.cache import cached
from tenantry.dashboard.series import week_start, zero_filled_weeks
from tenantry.projects.models import Project
from tenantry.projects.selectors import recent_rows

RECENT_DAYS = 30
RECENT_PROJECTS = 5
CHART_WEEKS = 12
EXPORT_COLUMNS = ("name", "status", "owner__email", "created_at", "updated_at")


def home() -> dict:
    """What the home page shows every member alike: the KPIs and the newest projects, as plain rows
    so that the cached entry renders without a query and unpickles whatever the models become."""
    return {"kpis": _tenant_kpis(), "recent": recent_rows(RECENT_PROJECTS)}


def _tenant_kpis() -> dict[str, int]:
    since = timezone.now() - timedelta(days=RECENT_DAYS)
    return Project.objects.aggregate(
        total=Count("pk"),
        active=Count("pk", filter=Q(status=Project.Status.ACTIVE)),
        done=Count("pk", filter=Q(status=Project.Status.DONE)),
        recent=Count("pk", filter=Q(created_at__gte=since)),
    )


def own_projects(user_id: int) -> int:
    """The "Mine" KPI, apart from home(): it differs per member, and must be exact."""
    return Project.objects.filter(owner_id=user_id).count()


def chart_data(today: date | None = None) -> dict[str, dict[str, list]]:
    """The analytics charts' data; the same for every member, so cached per tenant only."""
    today = today or timezone.localdate()
    return cached(f"charts:{today.isoformat()}", lambda: {"weekly": _weekly(today), "by_status": _by_status()})


def _weekly(today: date) -> dict[str, list]:
    first = week_start(today) - timedelta(weeks=CHART_WEEKS - 1)
    since = datetime.combine(first, time.min, tzinfo=timezone.get_current_timezone())
    rows = (Project.objects.filter(created_at__gte=since)
            .annotate(week=TruncWeek("created_at")).values("week")
            .annotate(count=Count("pk")).order_by("week"))
    return zero_filled_weeks({row["week"].date(): row["count"] for row in rows}, first, CHART_WEEKS)


def _by_status() -> dict[str, list]:
    counts = dict(Project.objects.order_by().values_list("status").annotate(count=Count("pk")))
    return {"labels": [str(label) for label in Project.Status.labels],
            "counts": [counts.get(status, 0) for status in Project.Status.values]}


def export_rows(limit: int) -> list[tuple]:
    """Up to `limit` + 1 rows, newest first: the extra row tells the caller the export was cut."""
    return list(Project.objects.order_by("-created_at", "-id").values_list(*EXPORT_COLUMNS)[:limit + 1])
