"""Route each request to its tenant by Host header and run it inside one transaction.

The transaction is what makes the tenant's `SET LOCAL search_path` (see tenantry.db) cover every
query of the request, whichever PgBouncer server connection it lands on.
"""
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.db import connection, transaction
from django.shortcuts import render

from tenantry.tenancy.routing import tenant_for_host

SUSPENDED_RETRY_AFTER_SECONDS = 3600
PUBLIC_URLCONF = "tenantry.urls_public"


def request_host(request) -> str:
    """The Host header's name. A request line in absolute form (`GET http://b.example/`) naming another
    host is refused: HTTP says its authority wins over Host, so a cache or proxy in front would file
    this tenant's page under the other tenant's URL. (gunicorn passes the request line as RAW_URI.)"""
    host = request.get_host().rsplit(":", 1)[0].lower().rstrip(".")
    raw_uri = request.META.get("RAW_URI", "")
    try:
        target = urlsplit(raw_uri)
        target_host = (target.hostname or "").rstrip(".")
    except ValueError:  # e.g. an unclosed IPv6 bracket
        raise DisallowedHost(f"the request line's target {raw_uri[:100]!r} is malformed") from None
    if target.scheme and target_host != host:
        raise DisallowedHost(f"the request line names {target.netloc!r}, the Host header {host!r}")
    return host


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
