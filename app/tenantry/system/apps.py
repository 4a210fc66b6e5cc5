from django.apps import AppConfig


class SystemConfig(AppConfig):
    name = "tenantry.system"
    label = "system"
