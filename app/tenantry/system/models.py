"""Platform-wide settings, in the public schema: one row per key, the value as JSON."""
from django.db import models


class Setting(models.Model):
    key = models.SlugField(max_length=100, unique=True)
    value = models.JSONField(help_text='JSON: a text value needs double quotes, e.g. "Maintenance at 22:00 UTC".')
    description = models.TextField(blank=True, help_text="What the setting changes, for the next admin.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["key"]

    def __str__(self) -> str:
        return self.key
