"""Who may use a tenant's API: its members, at its own host.

Tokens are per user and users are platform-wide, so a valid token says nothing about the tenant
whose host the request came to; the Membership row does. The role is looked up once per request
and kept on the request (views such as /me/ read it again), never across requests, so a removed
member is refused on their very next call.
"""
from rest_framework.permissions import BasePermission

from tenantry.accounts.selectors import role_of

_ROLE_ATTRIBUTE = "_tenantry_api_role"


def tenant_role(request) -> str | None:
    """The authenticated user's role at request.tenant, or None (not a member, no tenant)."""
    tenant = getattr(request, "tenant", None)
    if tenant is None or not request.user.is_authenticated:
        return None
    key = (request.user.pk, tenant.id)
    cached = getattr(request, _ROLE_ATTRIBUTE, None)
    if cached is None or cached[0] != key:
        cached = (key, role_of(request.user.pk, tenant.id))
        setattr(request, _ROLE_ATTRIBUTE, cached)
    return cached[1]


class IsTenantMember(BasePermission):
    message = "You are not a member of this tenant."

    def has_permission(self, request, view) -> bool:
        return request.user.is_authenticated and tenant_role(request) is not None
