from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "tenantry.billing"
    label = "billing"
    verbose_name = "Billing"
