"""Reads on projects, in the active tenant's schema."""
from django.db.models import Q, QuerySet

from tenantry.projects.models import Project

ROW_FIELDS = ("pk", "name", "status", "owner__email", "created_at")
_STATUS_LABELS = dict(Project.Status.choices)


def project_list(search: str = "", status: str = "") -> QuerySet[Project]:
    projects = Project.objects.select_related("owner")
    if search:
        projects = projects.filter(Q(name__icontains=search) | Q(description__icontains=search))
    if status:
        projects = projects.filter(status=status)
    return projects


def rows(projects: QuerySet[Project]) -> list[dict]:
    """Projects as lists show them (projects/_row.html): plain values from one query, no model
    instances. Building twenty models and their owners was most of the project list's CPU; plain
    dicts also keep the dashboard's cached rows readable whatever the model becomes."""
    return [{"pk": pk, "name": name, "status": status, "status_label": _STATUS_LABELS.get(status, status),
             "owner_email": owner_email, "created_at": created_at}
            for pk, name, status, owner_email, created_at in projects.values_list(*ROW_FIELDS)]


def recent_rows(limit: int = 5) -> list[dict]:
    return rows(Project.objects.all()[:limit])
