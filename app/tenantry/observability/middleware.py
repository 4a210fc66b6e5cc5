"""One JSON log line, the tenant's metrics and a Server-Timing header for every routed request.

Sits after the health checks (probes every few seconds would drown the log) and before tenant
routing, so its timing covers routing and its response sees `request.tenant` once routing set it.
Database time is summed by an execute wrapper, not by extra queries: the warm request path keeps
its statement count.
"""
import logging
import re
import time
import uuid

from django.db import connection

from tenantry.observability import tenant_metrics

REQUEST_ID_HEADER = "X-Request-ID"
# An incoming id is echoed into logs and headers: only accept something that looks like an id.
VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")

logger = logging.getLogger("tenantry.request")


def request_id(incoming: str | None) -> str:
    """The proxy's request id if it sent a sane one (so its logs and ours join), else a new one."""
    if incoming and VALID_REQUEST_ID.fullmatch(incoming):
        return incoming
    return uuid.uuid4().hex


def server_timing(app_seconds: float, db_seconds: float) -> str:
    return f"app;dur={app_seconds * 1000:.1f}, db;dur={db_seconds * 1000:.1f}"


class QueryTimer:
    """A database execute wrapper that adds up the time spent in queries."""

    def __init__(self):
        self.seconds = 0.0

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - started


class RequestObservabilityMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.request_id = request_id(request.headers.get(REQUEST_ID_HEADER))
        started = time.perf_counter()
        queries = QueryTimer()
        with connection.execute_wrapper(queries):
            response = self.get_response(request)
        seconds = time.perf_counter() - started
        tenant = getattr(request, "tenant", None)
        if tenant is not None:
            tenant_metrics.observe(tenant.schema_name, response.status_code, seconds)
        response[REQUEST_ID_HEADER] = request.request_id
        response["Server-Timing"] = server_timing(seconds, queries.seconds)
        logger.info("request", extra={
            "request_id": request.request_id, "tenant": tenant.schema_name if tenant else None,
            "method": request.method, "path": request.path, "status": response.status_code,
            "duration_ms": round(seconds * 1000, 1), "db_ms": round(queries.seconds * 1000, 1)})
        return response
