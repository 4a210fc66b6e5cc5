"""Who may use a tenant's API: its members, at its own host.

Tokens are per user and users are platform-wide, so a valid token says nothing about the tenant
whose host the request came to; the Membership row does. The role comes from the identity cache
(tenantry.accounts.identity), which a change to the membership invalidates at its commit, so a removed
member is refused on their very next call; it is kept on the request too, as views such as /me/ read
it again. Writes also need a live subscription, as on the web pages (tenantry.billing.guards): the
API is no way around paying.
"""
from rest_framework import exceptions, status
from rest_framework.permissions import SAFE_METHODS, BasePermission

from tenantry.accounts import identity
from tenantry.billing.guards import NO_SUBSCRIPTION
from tenantry.billing.selectors import live_subscription_for

_ROLE_ATTRIBUTE = "_tenantry_api_role"


def tenant_role(request) -> str | None:
    """The authenticated user's role at request.tenant, or None (not a member, no tenant)."""
    tenant = getattr(request, "tenant", None)
    if tenant is None or not request.user.is_authenticated:
        return None
    key = (request.user.pk, tenant.id)
    cached = getattr(request, _ROLE_ATTRIBUTE, None)
    if cached is None or cached[0] != key:
        cached = (key, identity.role(request.user.pk, tenant.id))
        setattr(request, _ROLE_ATTRIBUTE, cached)
    return cached[1]


class IsTenantMember(BasePermission):
    message = "You are not a member of this tenant."

    def has_permission(self, request, view) -> bool:
        return request.user.is_authenticated and tenant_role(request) is not None


class SubscriptionRequired(exceptions.APIException):
    status_code = status.HTTP_402_PAYMENT_REQUIRED
    default_detail = NO_SUBSCRIPTION
    default_code = "subscription_required"


class WritesNeedLiveSubscription(BasePermission):
    """Reads stay open to the members of a lapsed tenant (the data is still theirs); a write without a
    live subscription, the member's own or the tenant's, is a 402 naming the way out."""

    def has_permission(self, request, view) -> bool:
        if request.method in SAFE_METHODS:
            return True
        if live_subscription_for(request.user.pk, request.tenant.id) is None:
            raise SubscriptionRequired()
        return True
