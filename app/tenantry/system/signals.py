"""Drop a setting's cached value once the write that changed it has committed.

Deleting earlier would let a concurrent reader cache the old value again before the commit.
"""
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from tenantry.system.models import Setting
from tenantry.system.selectors import setting_cache, setting_cache_key


@receiver([post_save, post_delete], sender=Setting, dispatch_uid="system-setting-invalidate")
def invalidate_setting(sender, instance: Setting, **kwargs) -> None:
    key = setting_cache_key(instance.key)
    transaction.on_commit(lambda: setting_cache().delete(key))
