"""Route each request to its tenant by Host header and run it inside one transaction.

The transaction is what makes the tenant's `SET LOCAL search_path` (see tenantry.db) cover every
query of the request, whichever PgBouncer server connection it lands on.

A safe request (GET, HEAD, OPTIONS) whose database connection was lost on the way (PostgreSQL
restarted under it) is run once more from the start instead of answering 500: its transaction never
committed anything, and the method promises it had nothing to commit. Writes are never run twice; the
database backend (tenantry.db) only reopens a transaction that had not sent its first statement.
"""
import logging
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.db import DatabaseError, connection, transaction
from django.shortcuts import render

from tenantry.db import resilience
from tenantry.tenancy.routing import tenant_for_host

logger = logging.getLogger(__name__)

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


def connection_lost() -> bool:
    """Is the request's database connection gone? Inside an atomic block Django keeps the closed
    driver connection; after one it may have dropped it (None)."""
    return connection.connection is None or connection.connection.closed


class _Lost(Exception):
    """Leaves the atomic block of a request whose connection was lost, so that it rolls back."""


class TenantRoutingMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        host = request_host(request)
        if host == settings.BASE_DOMAIN:
            # The platform's own site: public schema, its own URLs, no tenant.
            request.tenant = None
            request.urlconf = PUBLIC_URLCONF
            return self.in_transaction(request)
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
            return self.in_transaction(request)
        finally:
            connection.set_schema_to_public()

    def in_transaction(self, request):
        """The rest of the request in one transaction; a safe request whose connection was lost runs again once."""
        for attempt in range(2):
            try:
                with transaction.atomic():
                    response = self.get_response(request)
                    if resilience.request_retryable(request.method, connection_lost(), attempt):
                        raise _Lost
                return response
            except _Lost:
                pass
            except DatabaseError as err:  # the commit, or the rollback of a failed request
                lost = resilience.is_connection_error(err, connection_closed=connection_lost())
                if not resilience.request_retryable(request.method, lost, attempt):
                    raise
            logger.warning("%s %s: the database connection was lost; running the request again",
                           request.method, request.path)
        raise AssertionError("unreachable: the second attempt returns or raises")
