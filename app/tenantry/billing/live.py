"""The live subscriptions of a person at a tenant, from the platform cache.

Every form page and every API write asks (tenantry.billing.guards, tenantry.api.permissions): under
the load test its query was the second most expensive statement, a quarter of a query per request.
An entry for (user, tenant) is filed under three versions (tenantry.core.versions): the user's
subscriptions', the tenant's and the plans'. Each is bumped after the commit of any save or delete
of a Subscription of that user or tenant, or of any Plan (the receivers below), so a cancellation or
a new plan counts from the very next request, in every process. A transaction that has changed them
reads the database and files nothing (versions.pending).

A trial ends by time passing, not by a write: the entry keeps the trial's row, and a row whose trial
is over by the time it is read grants nothing, exactly as the query leaves it out.
"""
from collections.abc import Callable

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone

from tenantry.billing.models import Plan, Subscription
from tenantry.core import versions

CACHE = "platform"  # subscriptions and plans live in the public schema
PLANS_KEY = "billing:plans"
TTL_SECONDS = 3600

Pair = tuple[Subscription | None, Subscription | None]


def _user_key(user_id: int) -> str:
    return f"billing:user:{user_id}"


def _tenant_key(tenant_id: int) -> str:
    return f"billing:tenant:{tenant_id}"


def live_pair(user_id: int, tenant_id: int | None, load: Callable[[], Pair]) -> Pair:
    """(own, tenant's) live subscriptions: load()'s answer, through the cache."""
    counters = [PLANS_KEY, _user_key(user_id), *([_tenant_key(tenant_id)] if tenant_id is not None else [])]
    pair = versions.cached(CACHE, counters, f"billing:live:{user_id}:{tenant_id}", load, TTL_SECONDS)
    now = timezone.now()
    return tuple(None if row is not None and trial_over(row, now) else row for row in pair)


def trial_over(subscription: Subscription, now) -> bool:
    return subscription.status == Subscription.Status.TRIALING and subscription.trial_ends_at <= now


@receiver([post_save, post_delete], sender=Subscription, dispatch_uid="billing-subscription-changed")
def _subscription_changed(sender, instance: Subscription, using: str, **kwargs) -> None:
    if instance.user_id is not None:
        versions.bump_after_commit(CACHE, _user_key(instance.user_id), using)
    if instance.tenant_id is not None:
        versions.bump_after_commit(CACHE, _tenant_key(instance.tenant_id), using)


@receiver([post_save, post_delete], sender=Plan, dispatch_uid="billing-plan-changed")
def _plan_changed(sender, instance: Plan, using: str, **kwargs) -> None:
    versions.bump_after_commit(CACHE, PLANS_KEY, using)
