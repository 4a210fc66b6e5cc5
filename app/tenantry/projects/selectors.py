from tenantry.projects.models import Project


def project_count() -> int:
    return Project.objects.count()
