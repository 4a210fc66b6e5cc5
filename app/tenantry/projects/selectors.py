"""Reads on projects, in the active tenant's schema."""
from django.db.models import Q, QuerySet

from tenantry.projects.models import Project


def project_list(search: str = "", status: str = "") -> QuerySet[Project]:
    projects = Project.objects.select_related("owner")
    if search:
        projects = projects.filter(Q(name__icontains=search) | Q(description__icontains=search))
    if status:
        projects = projects.filter(status=status)
    return projects


def recent_projects(limit: int = 5) -> list[Project]:
    return list(Project.objects.select_related("owner")[:limit])
