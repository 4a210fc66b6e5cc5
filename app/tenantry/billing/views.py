"""The billing pages of a tenant host: where people see what they pay and choose a plan."""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from tenantry.accounts import identity
from tenantry.accounts.models import Membership
from tenantry.billing import selectors, services
from tenantry.billing.models import Plan

MANAGERS = (Membership.Role.OWNER, Membership.Role.ADMIN)
WORKSPACE = "workspace"


def _manages_workspace(request) -> bool:
    return identity.role(request.user.pk, request.tenant.id) in MANAGERS


@login_required
@require_GET
def overview(request):
    manages = _manages_workspace(request)
    own, workspace_subscription = selectors.live_subscriptions(request.user.pk, request.tenant.id)
    return render(request, "billing/overview.html", {
        "own": own,
        "workspace_subscription": workspace_subscription,
        "plans": selectors.active_plans(),
        "payments": selectors.payments_for(user_id=request.user.pk, tenant_id=request.tenant.id if manages else None),
        "manages_workspace": manages,
        "workspace": WORKSPACE,
    })


@login_required
@require_POST
def subscribe(request, plan):
    """Anyone may choose their own plan; only owners and admins may choose the workspace's, which
    covers every member."""
    plan = get_object_or_404(Plan, code=plan, is_active=True)
    for_workspace = request.POST.get("for") == WORKSPACE
    if for_workspace and not _manages_workspace(request):
        raise PermissionDenied("Only the workspace's owners and admins can choose its plan.")
    services.change_plan(request.tenant if for_workspace else request.user, plan)
    who = f"{request.tenant.display_name} is" if for_workspace else "You are"
    messages.success(request, f"{who} now on the {plan.name} plan.")
    return redirect("billing:overview")
