from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "tenantry.core"
    label = "core"
