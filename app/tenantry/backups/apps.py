from django.apps import AppConfig


class BackupsConfig(AppConfig):
    name = "tenantry.backups"
    label = "backups"
