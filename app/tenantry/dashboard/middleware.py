"""The request's session, for the service layer, which has no request.

A project write pins its writer to the dashboard figures that include it (tenantry.dashboard.cache,
projects_changed): the new version goes into the writer's session. Services are called by views, the
API and commands alike, so the session reaches them here rather than through every signature.
"""
from contextvars import ContextVar

from django.contrib.sessions.backends.base import SessionBase

_session: ContextVar[SessionBase | None] = ContextVar("tenantry_figures_session", default=None)


def request_session() -> SessionBase | None:
    """The session of the request running now; None outside one (a command, a test's service call)."""
    return _session.get()


class FiguresPinMiddleware:
    """After SessionMiddleware: holds the (still lazy) session for the rest of the request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _session.set(request.session)
        try:
            return self.get_response(request)
        finally:
            _session.reset(token)
