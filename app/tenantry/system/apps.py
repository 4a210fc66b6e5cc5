from django.apps import AppConfig


class SystemConfig(AppConfig):
    name = "tenantry.system"
    label = "system"
    verbose_name = "System settings"

    def ready(self) -> None:
        from tenantry.system import signals  # noqa: F401  (connects the cache invalidation)
