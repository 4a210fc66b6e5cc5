"""Writes of platform settings. Cache invalidation lives in the signal handlers (tenantry.system.signals),
so the admin, this module and any other ORM write all invalidate the same way."""
from typing import Any

from tenantry.system.models import Setting


def set_setting(key: str, value: Any, description: str | None = None) -> Setting:
    setting = Setting.objects.filter(key=key).first() or Setting(key=key)
    setting.value = value
    if description is not None:
        setting.description = description
    setting.full_clean()
    setting.save()
    return setting


def delete_setting(key: str) -> None:
    for setting in Setting.objects.filter(key=key):
        setting.delete()
