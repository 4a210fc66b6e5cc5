"""Writes on users and memberships."""
from django.db import transaction

from tenantry.accounts.models import Membership, User


@transaction.atomic
def ensure_member(email: str, tenant_id: int, role: str = Membership.Role.MEMBER) -> tuple[User, Membership]:
    """Make `email` a member of the tenant with `role`, creating the user without a usable password
    if new (they set one through password reset). Idempotent; never demotes an owner."""
    user = User.objects.filter(email__iexact=email).first()
    if user is None:
        user = User.objects.create_user(email=email, password=None)
    membership, created = Membership.objects.get_or_create(user=user, tenant_id=tenant_id, defaults={"role": role})
    if not created and membership.role != role and membership.role != Membership.Role.OWNER:
        membership.role = role
        membership.save(update_fields=["role"])
    return user, membership
