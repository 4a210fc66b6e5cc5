"""Writes on projects. Views, the API and the seed command all go through here, so every change
invalidates the dashboard's cached figures in one place (after the commit: see projects_changed)."""
from tenantry.dashboard.cache import projects_changed
from tenantry.projects.models import Project


def create_project(*, owner, name: str, description: str = "", status: str = Project.Status.ACTIVE) -> Project:
    project = Project(owner=owner, name=name, description=description, status=status)
    project.full_clean()
    project.save()
    projects_changed({project.owner_id})
    return project


def update_project(project: Project, **fields) -> Project:
    """A reassigned project changes the "Mine" count of both its old and its new owner."""
    previous_owner_id = project.owner_id
    for field, value in fields.items():
        setattr(project, field, value)
    project.full_clean()
    project.save()
    reassigned = project.owner_id != previous_owner_id
    projects_changed({previous_owner_id, project.owner_id} if reassigned else set())
    return project


def delete_project(project: Project) -> None:
    project.delete()
    projects_changed({project.owner_id})
