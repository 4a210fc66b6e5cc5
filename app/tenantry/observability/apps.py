from django.apps import AppConfig


class ObservabilityConfig(AppConfig):
    name = "tenantry.observability"
    label = "observability"
