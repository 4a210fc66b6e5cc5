"""Authentication that only admits members of the tenant whose host the request came to."""
from django.contrib.auth.backends import ModelBackend

from tenantry.accounts import identity
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

    def get_user(self, user_id):
        """The session's user, on every request: from the identity cache, which a change to the user
        invalidates at its commit, so Django's check of the session against the password hash and
        ours of is_active see the change on the next request."""
        user = identity.user(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None
