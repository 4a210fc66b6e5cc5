"""Writes on subscriptions. A subscriber is a User (paying for themself) or a tenant (a Tenant row
or the request's RoutedTenant, paying for all of its members)."""
import calendar
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from tenantry.accounts.models import User
from tenantry.billing.gateways import InvoiceGateway, PaymentGateway
from tenantry.billing.models import Payment, Plan, Subscription
from tenantry.tenancy.models import Tenant
from tenantry.tenancy.routing import RoutedTenant

# A trial lets a new person try the plan most teams buy, not the free one they already have.
TRIAL_PLAN = "pro"


def _subscriber_filter(subscriber) -> dict[str, int]:
    if isinstance(subscriber, User):
        return {"user_id": subscriber.pk}
    if isinstance(subscriber, (Tenant, RoutedTenant)):
        return {"tenant_id": subscriber.id}
    raise TypeError(f"a subscriber is a User or a tenant, not {type(subscriber).__name__}")


def _lock_subscriber(owner: dict[str, int]) -> None:
    """Serialize writes for one subscriber, so two concurrent changes queue instead of one of them
    hitting the one-live-subscription constraint."""
    model, pk = (User, owner["user_id"]) if "user_id" in owner else (Tenant, owner["tenant_id"])
    list(model.objects.select_for_update().filter(pk=pk).values_list("pk", flat=True))


def add_months(moment: datetime, months: int) -> datetime:
    """Calendar months, clamped to the month's last day (Jan 31 + 1 month = Feb 28 or 29)."""
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    return moment.replace(year=year, month=month, day=min(moment.day, calendar.monthrange(year, month)[1]))


def period_end(plan: Plan, start: datetime) -> datetime:
    return add_months(start, 12 if plan.interval == Plan.Interval.YEAR else 1)


@transaction.atomic
def start_trial(user: User) -> Subscription | None:
    """Start the free trial of a person who never had any subscription, else do nothing: a trial is
    once per person, whichever tenant they signed up at. Returns the new trial or None."""
    owner = _subscriber_filter(user)
    _lock_subscriber(owner)
    if Subscription.objects.filter(**owner).exists():
        return None
    now = timezone.now()
    return Subscription.objects.create(**owner, plan=Plan.objects.get(code=TRIAL_PLAN),
                                       status=Subscription.Status.TRIALING, started_at=now,
                                       trial_ends_at=now + timedelta(days=settings.TENANTRY_TRIAL_DAYS))


@transaction.atomic
def change_plan(subscriber, plan: Plan, gateway: PaymentGateway | None = None) -> Subscription:
    """Move the subscriber to `plan`: the live subscription (an expired trial included) is canceled
    and a new active one starts now, paid through `gateway` if the plan costs anything. All of it is
    one transaction, so a failed charge or write leaves the old subscription live and untouched.
    Asking for the plan one already pays for changes nothing."""
    if not plan.is_active:
        raise ValueError(f"plan {plan.code!r} is no longer offered")
    owner = _subscriber_filter(subscriber)
    _lock_subscriber(owner)
    current = Subscription.objects.filter(**owner, status__in=Subscription.LIVE).first()
    if current is not None and current.plan_id == plan.id and current.status == Subscription.Status.ACTIVE:
        return current
    if current is not None:
        cancel(current)
    now = timezone.now()
    subscription = Subscription.objects.create(**owner, plan=plan, status=Subscription.Status.ACTIVE,
                                               started_at=now, current_period_end=period_end(plan, now))
    if not plan.is_free:
        charge = (gateway or InvoiceGateway()).charge(
            amount_cents=plan.price_cents, currency=plan.currency,
            description=f"{plan.name}, {now:%Y-%m-%d} to {subscription.current_period_end:%Y-%m-%d}")
        Payment.objects.create(subscription=subscription, amount_cents=plan.price_cents, currency=plan.currency,
                               status=Payment.Status.SUCCEEDED, reference=charge.reference, created_at=now)
    return subscription


def cancel(subscription: Subscription) -> Subscription:
    """End a subscription now; canceling twice keeps the first date."""
    if subscription.status != Subscription.Status.CANCELED:
        subscription.status = Subscription.Status.CANCELED
        subscription.canceled_at = timezone.now()
        subscription.save(update_fields=["status", "canceled_at"])
    return subscription
