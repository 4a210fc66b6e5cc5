from tenantry.accounts.models import Membership


def is_member(user_id: int, tenant_id: int) -> bool:
    return Membership.objects.filter(user_id=user_id, tenant_id=tenant_id).exists()


def role_of(user_id: int, tenant_id: int) -> str | None:
    return Membership.objects.filter(user_id=user_id, tenant_id=tenant_id).values_list("role", flat=True).first()
