"""Reads of users, memberships and API tokens.

All of them read the primary, even inside a view routed to the replica (tenantry.db.replica): the
identity cache files what they return under versions bumped after the primary's commits, and a
lagging replica's rows would be filed there as current.
"""
from datetime import datetime

from django.db import DEFAULT_DB_ALIAS
from rest_framework.authtoken.models import Token

from tenantry.accounts.models import Membership, User


def _memberships(user_id: int, tenant_id: int):
    return Membership.objects.using(DEFAULT_DB_ALIAS).filter(user_id=user_id, tenant_id=tenant_id)


def is_member(user_id: int, tenant_id: int) -> bool:
    return _memberships(user_id, tenant_id).exists()


def role_of(user_id: int, tenant_id: int) -> str | None:
    return _memberships(user_id, tenant_id).values_list("role", flat=True).first()


def user_by_id(user_id: int) -> User | None:
    return User.objects.using(DEFAULT_DB_ALIAS).filter(pk=user_id).first()


def token_user_id(key: str) -> int | None:
    return Token.objects.using(DEFAULT_DB_ALIAS).filter(key=key).values_list("user_id", flat=True).first()


def token_created(key: str, user_id: int) -> datetime | None:
    """When the token was made, if it is (still) this user's."""
    return (Token.objects.using(DEFAULT_DB_ALIAS).filter(key=key, user_id=user_id)
            .values_list("created", flat=True).first())
