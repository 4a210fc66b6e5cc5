"""Access that depends on paying (or trialing)."""
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect

from tenantry.billing.selectors import live_subscription_for

NO_SUBSCRIPTION = "Your trial has ended or you have no plan yet: choose a plan to continue."


def subscription_required(view):
    """Let a logged-in person through only with a live subscription, their own or their tenant's;
    everyone else goes to the billing overview to choose a plan (anonymous people log in first).
    The subscription found is left on `request.subscription`, so the view need not look again."""

    @wraps(view)
    def guarded(request, *args, **kwargs):
        tenant = getattr(request, "tenant", None)
        subscription = live_subscription_for(request.user.pk, tenant.id if tenant else None)
        if subscription is None:
            messages.warning(request, NO_SUBSCRIPTION)
            return redirect("billing:overview")
        request.subscription = subscription
        return view(request, *args, **kwargs)

    return login_required(guarded)
