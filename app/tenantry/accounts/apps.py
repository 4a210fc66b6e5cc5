from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "tenantry.accounts"
    label = "accounts"
    verbose_name = "Accounts"
