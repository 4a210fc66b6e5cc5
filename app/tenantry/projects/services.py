"""Writes on projects. Views, the API and the seed command all go through here, so every change
invalidates the dashboard's cached figures in one place."""
from django.db import transaction

from tenantry.projects.models import Project


def _changed() -> None:
    from tenantry.dashboard.cache import projects_changed

    transaction.on_commit(projects_changed)


def create_project(*, owner, name: str, description: str = "", status: str = Project.Status.ACTIVE) -> Project:
    project = Project(owner=owner, name=name, description=description, status=status)
    project.full_clean()
    project.save()
    _changed()
    return project


def update_project(project: Project, **fields) -> Project:
    for field, value in fields.items():
        setattr(project, field, value)
    project.full_clean()
    project.save()
    _changed()
    return project


def delete_project(project: Project) -> None:
    project.delete()
    _changed()
