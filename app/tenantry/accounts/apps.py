from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "tenantry.accounts"
    label = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from tenantry.accounts import identity  # noqa: F401  (connects the identity cache's invalidation)
