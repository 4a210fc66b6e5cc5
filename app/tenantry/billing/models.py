"""Plans, subscriptions and payments, in the public schema: a person can pay for themself, or a
tenant can pay for all of its members, and both outlive any one request's tenant schema."""
from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

CURRENCY = RegexValidator(r"^[A-Z]{3}\Z", "Use a three-letter ISO 4217 code in capitals, e.g. USD.")


def format_money(cents: int, currency: str) -> str:
    return f"{cents // 100:,}.{cents % 100:02d} {currency}"


class Plan(models.Model):
    class Interval(models.TextChoices):
        MONTH = "month"
        YEAR = "year"

    code = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=100)
    price_cents = models.PositiveIntegerField(help_text="Per interval, in the smallest unit of the currency.")
    currency = models.CharField(max_length=3, default="USD", validators=[CURRENCY])
    interval = models.CharField(max_length=5, choices=Interval.choices, default=Interval.MONTH)
    max_projects = models.PositiveIntegerField(null=True, blank=True, help_text="Empty means unlimited.")
    # Plans with subscriptions are never deleted (PROTECT below): retire them by clearing this.
    is_active = models.BooleanField(default=True)
    sort_order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["sort_order", "price_cents", "code"]
        constraints = [models.CheckConstraint(condition=Q(currency__regex=r"^[A-Z]{3}$"),
                                              name="billing_plan_currency_iso")]

    def __str__(self) -> str:
        return self.name

    @property
    def is_free(self) -> bool:
        return self.price_cents == 0

    @property
    def price(self) -> str:
        return format_money(self.price_cents, self.currency)


# Statuses that hold a subscriber's one live slot. A trial past its end still holds it until it is
# replaced; the selectors decide whether it still grants access.
LIVE_STATUSES = ["trialing", "active", "past_due"]


class Subscription(models.Model):
    class Status(models.TextChoices):
        TRIALING = "trialing"
        ACTIVE = "active"
        PAST_DUE = "past_due", "Past due"
        CANCELED = "canceled"

    LIVE = LIVE_STATUSES

    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE,
                             related_name="subscriptions")
    tenant = models.ForeignKey("tenancy.Tenant", null=True, blank=True, on_delete=models.CASCADE,
                               related_name="subscriptions")
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="subscriptions")
    status = models.CharField(max_length=10, choices=Status.choices)
    started_at = models.DateTimeField(default=timezone.now)
    trial_ends_at = models.DateTimeField(null=True, blank=True)
    current_period_end = models.DateTimeField(null=True, blank=True)
    canceled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(user__isnull=False, tenant__isnull=True) | Q(user__isnull=True, tenant__isnull=False),
                name="billing_subscription_one_subscriber"),
            models.CheckConstraint(condition=~Q(status="trialing") | Q(trial_ends_at__isnull=False),
                                   name="billing_subscription_trial_has_end"),
            models.CheckConstraint(condition=~Q(status="canceled") | Q(canceled_at__isnull=False),
                                   name="billing_subscription_canceled_has_date"),
            # These partial unique indexes are also the indexes of the hot lookup, "the live
            # subscription of this user / tenant" (tenantry.billing.selectors), which the planner
            # can use because the selector repeats the same status list.
            models.UniqueConstraint(fields=["user"], condition=Q(status__in=LIVE_STATUSES),
                                    name="billing_one_live_subscription_per_user"),
            models.UniqueConstraint(fields=["tenant"], condition=Q(status__in=LIVE_STATUSES),
                                    name="billing_one_live_subscription_per_tenant"),
        ]

    def __str__(self) -> str:
        return f"{self.subscriber} on {self.plan} ({self.status})"

    @property
    def subscriber(self):
        return self.user if self.user_id else self.tenant

    @property
    def for_tenant(self) -> bool:
        return self.tenant_id is not None


class Payment(models.Model):
    class Status(models.TextChoices):
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        REFUNDED = "refunded"

    # CASCADE, not PROTECT: a tenant released with deletionPolicy Delete (or a deleted user) must go
    # without blocking the operator; the invoices themselves live with whoever settles them offline.
    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="payments")
    amount_cents = models.PositiveIntegerField()
    currency = models.CharField(max_length=3, validators=[CURRENCY])
    status = models.CharField(max_length=10, choices=Status.choices)
    reference = models.CharField(max_length=100, unique=True, help_text="The gateway's id of this charge.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["subscription", "-created_at"], name="billing_payment_sub_created")]
        constraints = [models.CheckConstraint(condition=Q(currency__regex=r"^[A-Z]{3}$"),
                                              name="billing_payment_currency_iso")]

    def __str__(self) -> str:
        return f"{self.reference}: {self.amount}"

    @property
    def amount(self) -> str:
        return format_money(self.amount_cents, self.currency)
