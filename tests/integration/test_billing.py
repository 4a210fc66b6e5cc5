"""Plans, subscriptions and payments on the real PostgreSQL: the constraints hold in the database,
plan changes are one transaction, and the billing pages and guard work through the full stack."""
import time
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.http import HttpResponse
from django.test.utils import CaptureQueriesContext, override_settings
from django.urls import path, reverse
from django.utils import timezone
from django_tenants.utils import tenant_context

from tenantry import urls as tenant_urls
from tenantry.accounts.models import User
from tenantry.billing.guards import NO_SUBSCRIPTION, subscription_required
from tenantry.billing.models import Payment, Plan, Subscription
from tenantry.billing.selectors import live_subscription_for, payments_for
from tenantry.billing.services import add_months, cancel, change_plan, start_trial
from testkit.statements import kinds, pooled_capture

pytestmark = pytest.mark.integration


def plan(code: str) -> Plan:
    return Plan.objects.get(code=code)


def logged_in(t, role: str = "member"):
    """A client at the tenant's host with a session saved under that tenant's cache scope."""
    with tenant_context(t.tenant):
        return t.logged_in_client(role)


def expire(subscription: Subscription) -> None:
    """The trial's end moved into the past, saved as the app saves, so its caches hear of it
    (tenantry.billing.live; test_a_trial_ends_by_time_alone_even_while_cached covers time passing)."""
    subscription.trial_ends_at = timezone.now() - timedelta(minutes=1)
    subscription.save(update_fields=["trial_ends_at"])


def test_the_seeded_plans_are_offered_in_order(database):
    rows = list(Plan.objects.filter(code__in=["free", "pro", "business"])
                .values_list("code", "price_cents", "is_active"))
    assert [code for code, _, _ in rows] == ["free", "pro", "business"]
    assert rows[0][1] == 0 and 0 < rows[1][1] < rows[2][1]
    assert all(active for _, _, active in rows)
    assert plan("business").max_projects is None


def test_the_database_allows_one_live_subscription_per_user(tenant):
    user = tenant.user()
    trial = start_trial(user)
    with pytest.raises(IntegrityError, match="billing_one_live_subscription_per_user"), transaction.atomic():
        Subscription.objects.create(user=user, plan=plan("free"), status="active")
    # Canceled ones do not take the slot, and the slot frees up once the live one ends.
    Subscription.objects.create(user=user, plan=plan("free"), status="canceled", canceled_at=timezone.now())
    cancel(trial)
    Subscription.objects.create(user=user, plan=plan("free"), status="past_due")
    assert Subscription.objects.filter(user=user, status__in=Subscription.LIVE).count() == 1


def test_the_database_allows_one_live_subscription_per_tenant(tenant):
    Subscription.objects.create(tenant=tenant.tenant, plan=plan("business"), status="active")
    with pytest.raises(IntegrityError, match="billing_one_live_subscription_per_tenant"), transaction.atomic():
        Subscription.objects.create(tenant=tenant.tenant, plan=plan("pro"), status="trialing",
                                    trial_ends_at=timezone.now() + timedelta(days=1))
    assert Subscription.objects.filter(tenant=tenant.tenant).count() == 1


@pytest.mark.parametrize("subscribers", ["both", "neither"])
def test_a_subscription_belongs_to_exactly_one_user_or_tenant(tenant, subscribers):
    owners = {"user": tenant.user(), "tenant": tenant.tenant} if subscribers == "both" else {}
    with pytest.raises(IntegrityError, match="billing_subscription_one_subscriber"), transaction.atomic():
        Subscription.objects.create(**owners, plan=plan("free"), status="active")


def test_a_trial_is_once_per_person(tenant):
    user = tenant.user()
    trial = start_trial(user)
    assert (trial.status, trial.plan.code) == ("trialing", "pro")
    assert start_trial(user) is None
    cancel(trial)
    assert start_trial(user) is None
    assert Subscription.objects.filter(user=user).count() == 1


def test_change_plan_replaces_the_live_subscription_and_invoices_paid_plans(tenant):
    user = tenant.user()
    trial = start_trial(user)

    pro = change_plan(user, plan("pro"))
    trial.refresh_from_db()
    assert trial.status == "canceled" and trial.canceled_at is not None
    assert (pro.status, pro.plan.code) == ("active", "pro")
    assert pro.current_period_end == add_months(pro.started_at, 1)
    (payment,) = Payment.objects.filter(subscription=pro)
    assert (payment.amount_cents, payment.currency, payment.status) == (1900, "USD", "succeeded")
    assert payment.reference.startswith("INV-")

    assert change_plan(user, plan("pro")).pk == pro.pk  # already paying for it: nothing changes
    free = change_plan(user, plan("free"))
    assert not Payment.objects.filter(subscription=free).exists()
    statuses = [s.status for s in Subscription.objects.filter(user=user).order_by("id")]
    assert statuses == ["canceled", "canceled", "active"]
    assert payments_for(user_id=user.pk) == [payment]


@contextmanager
def payments_refused():
    """A real failure half way through a plan change: PostgreSQL refuses the payment row."""
    with connection.cursor() as cursor:
        cursor.execute("CREATE FUNCTION public.billing_test_refuse() RETURNS trigger LANGUAGE plpgsql AS "
                       "$$ BEGIN RAISE EXCEPTION 'the payment store is down'; END $$")
        cursor.execute("CREATE TRIGGER billing_test_refuse BEFORE INSERT ON public.billing_payment "
                       "FOR EACH ROW EXECUTE FUNCTION public.billing_test_refuse()")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TRIGGER billing_test_refuse ON public.billing_payment")
            cursor.execute("DROP FUNCTION public.billing_test_refuse()")


def test_change_plan_is_one_transaction(tenant):
    user = tenant.user()
    trial = start_trial(user)
    with payments_refused(), pytest.raises(DatabaseError, match="the payment store is down"):
        change_plan(user, plan("business"))
    trial.refresh_from_db()
    assert trial.status == "trialing" and trial.canceled_at is None  # the cancel was rolled back
    assert list(Subscription.objects.filter(user=user)) == [trial]
    assert not Payment.objects.filter(subscription__user=user).exists()
    assert change_plan(user, plan("business")).plan.code == "business"  # and nothing is left locked


def test_live_subscription_prefers_the_persons_own_then_the_tenants_and_ignores_expired_trials(tenant, other_tenant):
    user = tenant.user()
    trial = start_trial(user)
    assert live_subscription_for(user.pk, tenant.tenant.id) == trial
    expire(trial)
    assert live_subscription_for(user.pk, tenant.tenant.id) is None

    workspace = change_plan(tenant.tenant, plan("business"))
    assert live_subscription_for(user.pk, tenant.tenant.id) == workspace
    assert live_subscription_for(user.pk, other_tenant.tenant.id) is None  # it covers its own members only
    own = change_plan(user, plan("pro"))
    assert live_subscription_for(user.pk, tenant.tenant.id) == own


def test_the_live_lookup_uses_the_partial_unique_indexes(tenant):
    user = tenant.user()
    start_trial(user)
    with CaptureQueriesContext(connection) as queries:
        live_subscription_for(user.pk, tenant.tenant.id)
    (query,) = [q for q in queries.captured_queries if q["sql"].startswith("SELECT")]
    # Among a thousand other live subscribers, where scanning all live rows costs more than a lookup
    # in each partial index; on the few rows of a fresh test database the planner may scan one index
    # whole instead. Rolled back, statistics included (ANALYZE is transactional).
    with transaction.atomic(), connection.cursor() as cursor:
        others = User.objects.bulk_create([User(email=f"other-{i}-{tenant.schema}@example.com") for i in range(1000)])
        Subscription.objects.bulk_create([Subscription(user=other, plan=plan("free"), status="active")
                                          for other in others])
        cursor.execute("ANALYZE billing_subscription")
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + query["sql"])
        plan_text = "\n".join(row[0] for row in cursor.fetchall())
        transaction.set_rollback(True)
    assert "billing_one_live_subscription_per_user" in plan_text
    assert "billing_one_live_subscription_per_tenant" in plan_text


def guarded_page(request):
    return HttpResponse(f"plan={request.subscription.plan.code}")


urlpatterns = [path("guarded/", subscription_required(guarded_page)), *tenant_urls.urlpatterns]


@pytest.fixture
def guarded():
    """The tenant URLs plus one page behind the guard, as the dashboard and projects use it."""
    with override_settings(ROOT_URLCONF=__name__):
        yield "/guarded/"


def test_the_guard_sends_people_without_a_live_subscription_to_billing(tenant, guarded):
    assert tenant.client().get(guarded)["Location"].startswith(reverse("accounts:login"))

    client, user = logged_in(tenant)
    response = client.get(guarded, follow=True)
    assert response.redirect_chain == [(reverse("billing:overview"), 302)]
    assert NO_SUBSCRIPTION in [str(message) for message in response.context["messages"]]

    expire(start_trial(user))
    assert client.get(guarded)["Location"] == reverse("billing:overview")


def test_the_guard_lets_through_a_trial_a_plan_or_the_tenants_plan(tenant, guarded):
    client, user = logged_in(tenant)
    start_trial(user)
    assert client.get(guarded).content == b"plan=pro"

    colleague_client, _ = logged_in(tenant)
    change_plan(tenant.tenant, plan("business"))
    assert colleague_client.get(guarded).content == b"plan=business"


def test_subscribing_from_the_overview_changes_the_plan_and_shows_the_invoice(tenant):
    client, user = logged_in(tenant)
    page = client.get(reverse("billing:overview")).content.decode()
    assert 'data-testid="no-subscription"' in page
    assert f'action="{reverse("billing:subscribe", args=["pro"])}"' in page
    assert "csrfmiddlewaretoken" in page

    response = client.post(reverse("billing:subscribe", args=["pro"]), follow=True)
    assert response.redirect_chain == [(reverse("billing:overview"), 302)]
    assert "You are now on the Pro plan." in [str(message) for message in response.context["messages"]]
    subscription = live_subscription_for(user.pk, tenant.tenant.id)
    assert (subscription.user_id, subscription.plan.code) == (user.pk, "pro")
    payment = Payment.objects.get(subscription=subscription)
    assert payment.reference in response.content.decode()
    assert "19.00 USD" in response.content.decode()


def test_subscribe_needs_a_post_with_a_csrf_token_and_a_plan_on_offer(tenant):
    client, user = logged_in(tenant)
    strict, _ = logged_in(tenant)
    strict.handler.enforce_csrf_checks = True
    retired = Plan.objects.create(code=f"old-{tenant.schema}".replace("_", "-"), name="Old", price_cents=500,
                                  is_active=False)
    assert client.get(reverse("billing:subscribe", args=["pro"])).status_code == 405
    assert strict.post(reverse("billing:subscribe", args=["pro"])).status_code == 403
    assert client.post(reverse("billing:subscribe", args=["no-such-plan"])).status_code == 404
    assert client.post(reverse("billing:subscribe", args=[retired.code])).status_code == 404
    assert not Subscription.objects.filter(user=user).exists()
    anonymous = tenant.client().post(reverse("billing:subscribe", args=["pro"]))
    assert anonymous["Location"].startswith(reverse("accounts:login"))


def test_only_owners_and_admins_choose_the_workspace_plan(tenant):
    member_client, _ = logged_in(tenant, "member")
    forbidden = member_client.post(reverse("billing:subscribe", args=["business"]), {"for": "workspace"})
    assert forbidden.status_code == 403
    assert not Subscription.objects.filter(tenant=tenant.tenant).exists()
    assert "Choose for all of" not in member_client.get(reverse("billing:overview")).content.decode()

    owner_client, owner = logged_in(tenant, "owner")
    assert "Choose for all of" in owner_client.get(reverse("billing:overview")).content.decode()
    owner_client.post(reverse("billing:subscribe", args=["business"]), {"for": "workspace"})
    workspace = Subscription.objects.get(tenant=tenant.tenant)
    assert (workspace.plan.code, workspace.status) == ("business", "active")
    assert not Subscription.objects.filter(user=owner).exists()
    page = member_client.get(reverse("billing:overview")).content.decode()
    assert f"You are covered by {tenant.tenant.display_name}'s plan" in page
    assert 'data-testid="subscription-workspace"><strong>Business</strong>' in page
    assert 'data-testid="subscription-own"' not in page


def test_the_billing_overview_makes_a_fixed_number_of_queries(tenant):
    client, owner = logged_in(tenant, "owner")
    for code in ["pro", "business", "pro", "business"]:
        change_plan(owner, plan(code))
        change_plan(tenant.tenant, plan(code))
    client.get(reverse("billing:overview"))  # warm the host, settings and identity caches
    with pooled_capture() as captured:
        response = client.get(reverse("billing:overview"))
    assert response.status_code == 200
    assert response.content.decode().count("<code>INV-") == 8
    statements = kinds(captured)
    # The plans on offer, the payments with their plans. The session's user and their role (may they
    # choose the workspace plan?) come from the identity cache (tenantry.accounts.identity), the live
    # subscriptions (own and workspace) from the billing one (tenantry.billing.live).
    assert statements == ["BEGIN", "SET LOCAL"] + ["SELECT"] * 2 + ["COMMIT"], captured.captured_queries


def test_a_trial_ends_by_time_alone_even_while_cached(tenant):
    user = tenant.user()
    trial = start_trial(user)
    trial.trial_ends_at = timezone.now() + timedelta(seconds=1)
    trial.save(update_fields=["trial_ends_at"])
    assert live_subscription_for(user.pk, tenant.tenant.id) == trial  # now cached
    time.sleep(1.1)
    with CaptureQueriesContext(connection) as queries:
        assert live_subscription_for(user.pk, tenant.tenant.id) is None  # no write: time did it
    assert queries.captured_queries == []  # from the cached row, whose trial is over


def test_a_change_counts_on_the_next_lookup_and_a_warm_lookup_sends_no_sql(tenant):
    owner, member = tenant.user("owner"), tenant.user()
    change_plan(tenant.tenant, plan("pro"))
    assert live_subscription_for(member.pk, tenant.tenant.id).plan.code == "pro"
    with CaptureQueriesContext(connection) as warm:
        assert live_subscription_for(member.pk, tenant.tenant.id).plan.code == "pro"
    assert warm.captured_queries == []

    change_plan(tenant.tenant, plan("business"))  # the tenant's, changed by its owner
    assert live_subscription_for(member.pk, tenant.tenant.id).plan.code == "business"
    cancel(Subscription.objects.get(tenant=tenant.tenant, status="active"))
    assert live_subscription_for(member.pk, tenant.tenant.id) is None
    own = change_plan(member, plan("free"))
    assert live_subscription_for(member.pk, tenant.tenant.id) == own
    assert live_subscription_for(owner.pk, tenant.tenant.id) is None  # the member's plan is theirs alone


def test_a_rolled_back_change_leaves_nothing_cached(tenant):
    user = tenant.user()
    with transaction.atomic():
        own = change_plan(user, plan("free"))
        assert live_subscription_for(user.pk, tenant.tenant.id) == own  # its own change, from the database
        transaction.set_rollback(True)
    assert live_subscription_for(user.pk, tenant.tenant.id) is None
