from django.contrib import admin

from tenantry.system.models import Setting


@admin.register(Setting)
class SettingAdmin(admin.ModelAdmin):
    list_display = ["key", "value", "description", "updated_at"]
    search_fields = ["key", "description"]
    readonly_fields = ["updated_at"]

    def get_readonly_fields(self, request, obj=None):
        # Renaming a key would leave the old key's cached value behind and break whoever reads it:
        # delete the setting and add a new one instead.
        return [*self.readonly_fields, "key"] if obj else self.readonly_fields
