from django.contrib import admin

from tenantry.billing.models import Payment, Plan, Subscription


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "price", "interval", "max_projects", "is_active", "sort_order"]
    list_editable = ["is_active", "sort_order"]
    list_filter = ["is_active", "interval", "currency"]
    search_fields = ["code", "name"]


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = ["id", "subscriber", "plan", "status", "started_at", "trial_ends_at", "current_period_end",
                    "canceled_at"]
    list_filter = ["status", "plan", "started_at"]
    list_select_related = ["user", "tenant", "plan"]
    search_fields = ["user__email", "tenant__display_name", "tenant__schema_name"]
    autocomplete_fields = ["user", "tenant"]
    date_hierarchy = "started_at"


@admin.register(Payment)
class PaymentAdmin(admin.ModelAdmin):
    """Payments are written by the billing services from the gateway's answer; staff only mark
    refunds (or settle a failed invoice) here."""
    list_display = ["reference", "subscription", "amount", "status", "created_at"]
    list_filter = ["status", "currency", "created_at"]
    list_select_related = ["subscription__user", "subscription__tenant", "subscription__plan"]
    search_fields = ["reference", "subscription__user__email", "subscription__tenant__display_name"]
    readonly_fields = ["subscription", "amount_cents", "currency", "reference", "created_at"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request) -> bool:
        return False
