"""Plain Django's stand-in for tenant routing: one fixed tenant, known from settings, no lookup."""
from django.conf import settings

from tenantry.tenancy.routing import RoutedTenant


class FixedTenantMiddleware:
    """Templates and views read request.tenant; a single-tenant app knows its one organisation
    without asking the database, so this costs nothing per request."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.tenant = RoutedTenant(**settings.TENANTRY_PLAIN_TENANT, state="active")

    def __call__(self, request):
        request.tenant = self.tenant
        return self.get_response(request)
