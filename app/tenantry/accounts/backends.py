"""Authentication that only admits members of the tenant whose host the request came to."""
from django.contrib.auth.backends import ModelBackend

from tenantry.accounts.selectors import is_member


class TenantMembershipBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None or request is None:
            return user
        tenant = getattr(request, "tenant", None)
        if tenant is None:  # the platform's own site (admin): staff only
            return user if user.is_staff else None
        return user if is_member(user.pk, tenant.id) else None
