"""Reads of platform settings, cached in the `platform` cache (settings are the same at every host).

A missing key is cached too, so a page that asks for an unset setting costs no query either.
"""
from typing import Any

from django.core.cache import caches

from tenantry.system.models import Setting

SETTING_CACHE_SECONDS = 600  # bounds staleness from writes that send no signal (QuerySet.update)
_ABSENT = ("absent",)


def setting_cache():
    return caches["platform"]


def setting_cache_key(key: str) -> str:
    return f"system:setting:{key}"


def get_setting(key: str, default: Any = None) -> Any:
    cached = setting_cache().get(setting_cache_key(key))
    if cached is None:
        values = list(Setting.objects.filter(key=key).values_list("value", flat=True))
        cached = ("present", values[0]) if values else _ABSENT
        setting_cache().set(setting_cache_key(key), cached, SETTING_CACHE_SECONDS)
    return cached[1] if cached[0] == "present" else default


def site_announcement() -> str:
    """The banner text every page shows; only a non-blank string counts."""
    value = get_setting("site_announcement", "")
    return value.strip() if isinstance(value, str) else ""
