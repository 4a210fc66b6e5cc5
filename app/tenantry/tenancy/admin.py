from django.contrib import admin

from tenantry.tenancy.models import Domain, Tenant


class DomainInline(admin.TabularInline):
    model = Domain
    extra = 0


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    """Read-mostly: tenants are owned by their Kubernetes resources, so edits belong in kubectl."""
    list_display = ["display_name", "schema_name", "plan", "state", "resource", "created_at"]
    list_filter = ["state", "plan"]
    search_fields = ["display_name", "schema_name", "resource", "domains__domain"]
    readonly_fields = ["schema_name", "resource", "state", "created_at", "updated_at"]
    inlines = [DomainInline]
