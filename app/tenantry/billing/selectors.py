"""Reads on plans, subscriptions and payments."""
from django.db import DEFAULT_DB_ALIAS
from django.db.models import Q
from django.utils import timezone

from tenantry.billing import live
from tenantry.billing.models import Payment, Plan, Subscription


def live_subscriptions(user_id: int, tenant_id: int | None) -> tuple[Subscription | None, Subscription | None]:
    """The person's own live subscription and their tenant's (the partial unique indexes allow at
    most one of each), through the cache of tenantry.billing.live. A trial past its end grants nothing."""
    return live.live_pair(user_id, tenant_id, lambda: _live_subscriptions(user_id, tenant_id))


def _live_subscriptions(user_id: int, tenant_id: int | None) -> tuple[Subscription | None, Subscription | None]:
    """The same from one query, on the primary: what it returns is cached as current."""
    scope = Q(user_id=user_id)
    if tenant_id is not None:
        scope |= Q(tenant_id=tenant_id)
    rows = list(Subscription.objects.using(DEFAULT_DB_ALIAS).select_related("plan")
                .filter(scope, status__in=Subscription.LIVE)
                .exclude(status=Subscription.Status.TRIALING, trial_ends_at__lte=timezone.now()))
    own = next((row for row in rows if row.user_id == user_id), None)
    tenants = next((row for row in rows if row.tenant_id is not None), None)
    return own, tenants


def live_subscription_for(user_id: int, tenant_id: int | None) -> Subscription | None:
    """The subscription that gives this user access at this tenant: their own if they have one,
    else the tenant's, which covers every member."""
    own, tenants = live_subscriptions(user_id, tenant_id)
    return own or tenants


def active_plans() -> list[Plan]:
    return list(Plan.objects.filter(is_active=True))


def payments_for(*, user_id: int, tenant_id: int | None = None, limit: int = 50) -> list[Payment]:
    """A person's own payments and, when `tenant_id` is given (people who manage the workspace),
    the tenant's too; newest first."""
    scope = Q(subscription__user_id=user_id)
    if tenant_id is not None:
        scope |= Q(subscription__tenant_id=tenant_id)
    return list(Payment.objects.filter(scope).select_related("subscription__plan")[:limit])
