"""Writes on users and memberships."""
from django.db import IntegrityError, transaction

from tenantry.accounts.models import Membership, User
from tenantry.billing.services import start_trial


class EmailTaken(Exception):
    """Another sign-up with this email won the race; the caller asks the person to log in instead."""


@transaction.atomic
def ensure_member(email: str, tenant_id: int, role: str = Membership.Role.MEMBER) -> tuple[User, Membership]:
    """Make `email` a member of the tenant with `role`, creating the user without a usable password
    if new (they set one through password reset). Idempotent; never demotes an owner."""
    email = email.strip()
    user = User.objects.filter(email__iexact=email).first()
    if user is None:
        user = User.objects.create_user(email=email, password=None)
    membership, created = Membership.objects.get_or_create(user=user, tenant_id=tenant_id, defaults={"role": role})
    if not created and membership.role != role and membership.role != Membership.Role.OWNER:
        membership.role = role
        membership.save(update_fields=["role"])
    return user, membership


@transaction.atomic
def sign_up(*, email: str, full_name: str, password: str, tenant_id: int) -> User:
    """A person new to the platform signs up at a tenant: the user, a `member` row there, and their
    one free trial, all or nothing."""
    try:
        with transaction.atomic():
            user = User.objects.create_user(email=email, password=password, full_name=full_name)
    except IntegrityError as exc:  # the case-insensitive unique email, under a concurrent sign-up
        raise EmailTaken(email) from exc
    join_tenant(user, tenant_id)
    start_trial(user)
    return user


def join_tenant(user: User, tenant_id: int) -> Membership:
    """Add an existing person to another tenant as a member; a role they already hold there stays
    (unlike `ensure_member`, which sets the role it is given)."""
    membership, _ = Membership.objects.get_or_create(user=user, tenant_id=tenant_id,
                                                     defaults={"role": Membership.Role.MEMBER})
    return membership
