"""Health endpoints, answered before tenant routing: probes reach the pod IP, not a tenant host."""
from django.http import HttpResponse, JsonResponse

from tenantry.core.health import readiness


class HealthCheckMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path == "/healthz":
            # Liveness: the process answers. Touching the database here would restart healthy pods
            # whenever PostgreSQL blips.
            return HttpResponse("ok\n", content_type="text/plain")
        if request.path == "/readyz":
            ok, checks = readiness()
            return JsonResponse({"status": "ok" if ok else "unavailable", "checks": checks},
                                status=200 if ok else 503)
        return self.get_response(request)
