from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "tenantry.billing"
    label = "billing"
    verbose_name = "Billing"

    def ready(self) -> None:
        from tenantry.billing import live  # noqa: F401  (connects the live-subscription cache's invalidation)
