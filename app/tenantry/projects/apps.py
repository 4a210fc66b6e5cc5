from django.apps import AppConfig


class ProjectsConfig(AppConfig):
    name = "tenantry.projects"
    label = "projects"
