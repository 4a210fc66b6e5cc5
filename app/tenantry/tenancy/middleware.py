"""Route each request to its tenant by Host header and run it inside one transaction.

The transaction is what makes the tenant's `SET LOCAL search_path` (see tenantry.db) cover every
query of the request, whichever PgBouncer server connection it lands on.
"""
from django.conf import settings
from django.db import connection, transaction
from django.shortcuts import render

from tenantry.tenancy.routing import tenant_for_host

SUSPENDED_RETRY_AFTER_SECONDS = 3600
PUBLIC_URLCONF = "tenantry.urls_public"


def request_host(request) -> str:
    return request.get_host().rsplit(":", 1)[0].lower().rstrip(".")


class TenantRoutingMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        host = request_host(request)
        if host == settings.BASE_DOMAIN:
            # The platform's own site: public schema, its own URLs, no tenant.
            request.tenant = None
            request.urlconf = PUBLIC_URLCONF
            with transaction.atomic():
                return self.get_response(request)
        tenant = tenant_for_host(host)
        if tenant is None:
            return render(request, "tenantry/unknown_host.html", {"host": host}, status=404)
        if tenant.suspended:
            response = render(request, "tenantry/suspended.html", {"tenant": tenant}, status=503)
            response["Retry-After"] = str(SUSPENDED_RETRY_AFTER_SECONDS)
            return response
        request.tenant = tenant
        connection.set_tenant(tenant)
        try:
            with transaction.atomic():
                return self.get_response(request)
        finally:
            connection.set_schema_to_public()
