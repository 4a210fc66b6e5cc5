from django.apps import AppConfig


class TenancyConfig(AppConfig):
    name = "tenantry.tenancy"
    label = "tenancy"
    verbose_name = "Tenancy"
