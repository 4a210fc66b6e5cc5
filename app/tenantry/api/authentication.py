"""API tokens as DRF checks them (header "Token <key>", the same refusals), with the token and its
user from the identity cache (tenantry.accounts.identity) instead of a query on every call."""
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication

from tenantry.accounts import identity


class TenantTokenAuthentication(TokenAuthentication):
    def authenticate_credentials(self, key):
        token = identity.token(key)
        if token is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        return token.user, token
