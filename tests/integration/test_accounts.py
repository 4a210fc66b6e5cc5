"""Sign-up, log-in, rate limiting, sessions and password reset at tenant hosts, through the full
middleware stack on the real PostgreSQL and Redis."""
import re
import uuid

import pytest
from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.core import mail
from django.test.utils import override_settings
from django.urls import reverse
from django.utils import timezone

from tenantry.accounts.forms import EXISTING_ACCOUNT
from tenantry.accounts.models import Membership, User
from tenantry.accounts.services import ensure_member
from tenantry.billing.models import Subscription

pytestmark = pytest.mark.integration

PASSWORD = "a long unusual passphrase 42"
HARNESS_PASSWORD = "correct horse battery"  # what TestTenant.user() sets
HOSTILE = "'; DROP TABLE accounts_user; -- <script>alert(1)</script>"


def fresh_email() -> str:
    return f"Person-{uuid.uuid4().hex[:8]}@Example.COM"


def sign_up(client, email: str, password: str = PASSWORD, password2: str | None = None,
            full_name: str = "Ada Lovelace"):
    return client.post(reverse("accounts:signup"), {"email": email, "full_name": full_name, "password1": password,
                                                    "password2": password if password2 is None else password2})


def log_in(client, email: str, password: str):
    return client.post(reverse("accounts:login"), {"username": email, "password": password})


def is_logged_in(client) -> bool:
    return client.get(reverse("billing:overview")).status_code == 200


def counts() -> tuple[int, int, int]:
    return User.objects.count(), Membership.objects.count(), Subscription.objects.count()


def test_sign_up_creates_the_user_a_membership_and_a_trial_and_logs_in(tenant):
    client, email = tenant.client(), fresh_email()
    response = sign_up(client, email, full_name=HOSTILE)

    assert response.status_code == 302
    assert response["Location"] == reverse(settings.LOGIN_REDIRECT_URL)
    user = User.objects.get(email__iexact=email)
    assert user.email == email.lower()
    assert user.full_name == HOSTILE  # stored as typed; templates escape it
    assert user.check_password(PASSWORD)
    assert list(user.memberships.values_list("tenant_id", "role")) == [(tenant.tenant.id, "member")]
    trial = Subscription.objects.get(user=user)
    assert (trial.status, trial.plan.code) == ("trialing", "pro")
    expected_end = trial.started_at + timezone.timedelta(days=settings.TENANTRY_TRIAL_DAYS)
    assert abs((trial.trial_ends_at - expected_end).total_seconds()) < 1
    assert is_logged_in(client)
    # Signed in already: the sign-up page sends them on instead of offering a second account.
    assert client.get(reverse("accounts:signup"))["Location"] == reverse(settings.LOGIN_REDIRECT_URL)


def test_signing_up_elsewhere_needs_the_existing_password_and_starts_no_second_trial(tenant, other_tenant):
    email = fresh_email()
    assert sign_up(tenant.client(), email).status_code == 302
    user = User.objects.get(email__iexact=email)
    before = counts()

    client = other_tenant.client()
    refused = sign_up(client, email.upper(), password="not the password at all 7")
    assert refused.status_code == 200
    assert refused.context["form"].non_field_errors() == [EXISTING_ACCOUNT]
    assert counts() == before
    assert not user.memberships.filter(tenant_id=other_tenant.tenant.id).exists()
    assert not is_logged_in(client)

    joined = sign_up(client, email.upper(), full_name="Someone Else")
    assert joined.status_code == 302
    assert User.objects.filter(email__iexact=email).count() == 1
    assert user.memberships.get(tenant_id=other_tenant.tenant.id).role == "member"
    assert Subscription.objects.filter(user=user).count() == 1  # the first trial, not a second one
    user.refresh_from_db()
    assert user.full_name == "Ada Lovelace"  # joining changes nothing of the account
    assert is_logged_in(client)


@pytest.mark.parametrize("fields, field", [
    ({"email": "not-an-email"}, "email"),
    ({"email": HOSTILE + "@example.com"}, "email"),
    ({"email": ""}, "email"),
    ({"full_name": ""}, "full_name"),
    ({"full_name": "x" * 201}, "full_name"),
    ({"password1": "short1", "password2": "short1"}, "password1"),
    ({"password1": "password123", "password2": "password123"}, "password1"),  # common
    ({"password1": "8203746591234", "password2": "8203746591234"}, "password1"),  # numeric
    ({"password1": PASSWORD, "password2": PASSWORD + "!"}, "password2"),
    ({"full_name": HOSTILE, "password1": "weak", "password2": "weak"}, "password1"),
])
def test_invalid_sign_ups_show_field_errors_and_create_nothing(tenant, fields, field):
    data = {"email": fresh_email(), "full_name": "Grace Hopper", "password1": PASSWORD, "password2": PASSWORD, **fields}
    before = counts()
    client = tenant.client()
    response = client.post(reverse("accounts:signup"), data)

    assert response.status_code == 200
    assert response.context["form"].errors[field]
    assert counts() == before
    assert not is_logged_in(client)
    page = response.content.decode()
    assert "<script>alert(1)</script>" not in page
    if HOSTILE in data["email"] + data["full_name"]:
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # echoed back, escaped


def test_a_password_like_the_email_is_refused(tenant):
    response = sign_up(tenant.client(), "margaret.hamilton@example.com", password="margaret.hamilton")
    assert "too similar to the email" in str(response.context["form"].errors["password1"])
    assert not User.objects.filter(email="margaret.hamilton@example.com").exists()


def test_log_in_works_only_at_tenants_the_user_belongs_to_with_one_generic_error(tenant, other_tenant):
    user = tenant.user()
    at_home = tenant.client()
    assert log_in(at_home, user.email.upper(), HARNESS_PASSWORD).status_code == 302
    assert is_logged_in(at_home)

    elsewhere = log_in(other_tenant.client(), user.email, HARNESS_PASSWORD)
    wrong_password = log_in(tenant.client(), user.email, "not the password")
    unknown = log_in(tenant.client(), fresh_email(), HARNESS_PASSWORD)
    errors = [response.context["form"].non_field_errors() for response in (elsewhere, wrong_password, unknown)]
    assert all(response.status_code == 200 for response in (elsewhere, wrong_password, unknown))
    assert errors == [["That email and password do not match an account of this workspace."]] * 3


def test_passwords_are_hashed_with_argon2id_and_older_hashes_upgraded_at_log_in(tenant):
    user = tenant.user()
    assert user.password.startswith("argon2$argon2id$v=19$m=19456,t=2,p=1$")  # OWASP's minimum, from settings
    user.password = make_password(HARNESS_PASSWORD, hasher="pbkdf2_sha256")  # as stored before Argon2id
    user.save(update_fields=["password"])

    assert log_in(tenant.client(), user.email, HARNESS_PASSWORD).status_code == 302
    user.refresh_from_db()
    assert user.password.startswith("argon2$argon2id$") and check_password(HARNESS_PASSWORD, user.password)
    with override_settings(TENANTRY_ARGON2_TIME_COST=3):  # a raised cost reaches stored hashes the same way
        assert log_in(tenant.client(), user.email, HARNESS_PASSWORD).status_code == 302
        user.refresh_from_db()
        assert ",t=3," in user.password


def test_log_out_takes_a_post_only(tenant):
    user = tenant.user()
    client = tenant.client()
    log_in(client, user.email, HARNESS_PASSWORD)
    assert client.get(reverse("accounts:logout")).status_code == 405
    assert is_logged_in(client)
    response = client.post(reverse("accounts:logout"))
    assert response["Location"] == reverse("accounts:login")
    assert not is_logged_in(client)


def test_a_session_cookie_of_one_tenant_is_anonymous_at_another(tenant, other_tenant):
    user = tenant.user()
    ensure_member(user.email, other_tenant.tenant.id)  # a member of both: only the session is in question
    at_a = tenant.client()
    assert log_in(at_a, user.email, HARNESS_PASSWORD).status_code == 302
    cookie = at_a.cookies[settings.SESSION_COOKIE_NAME].value

    at_b = other_tenant.client()
    at_b.cookies[settings.SESSION_COOKIE_NAME] = cookie
    response = at_b.get(reverse("billing:overview"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))
    assert response.wsgi_request.user.is_anonymous
    assert is_logged_in(at_a)  # the cookie itself is fine at its own tenant


# Fixed windows of an hour instead of the default minute, so a run crossing a window edge cannot
# reset a count half way through the test; the limit itself (5) is the production default.
@pytest.fixture
def five_per_hour():
    with override_settings(TENANTRY_LOGIN_RATE="5/h"):
        yield 5


def test_failed_log_ins_are_limited_per_email_even_with_the_right_password(tenant, other_tenant, five_per_hour):
    user = tenant.user()
    ensure_member(user.email, other_tenant.tenant.id)
    attacker = tenant.client(REMOTE_ADDR="10.1.0.1")
    for _ in range(five_per_hour - 1):
        assert log_in(attacker, user.email, "guess").status_code == 200
    # A wrong password on the sign-up page of an existing account counts too.
    assert sign_up(attacker, user.email, password="another guess 12345").status_code == 200

    owner = tenant.client(REMOTE_ADDR="10.1.0.2")
    limited = log_in(owner, user.email.upper(), HARNESS_PASSWORD)
    assert limited.status_code == 429
    assert 0 < int(limited["Retry-After"]) <= 3600
    assert "Too many failed attempts" in limited.content.decode()
    assert 'data-testid="rate-limited"' in limited.content.decode()
    assert not is_logged_in(owner)
    assert sign_up(owner, user.email, password=HARNESS_PASSWORD).status_code == 429
    assert not is_logged_in(owner)

    # Counters are per tenant: the same person still logs in at the other one.
    assert log_in(other_tenant.client(REMOTE_ADDR="10.1.0.1"), user.email, HARNESS_PASSWORD).status_code == 302


def test_failed_log_ins_are_limited_per_client_address(tenant, five_per_hour):
    user = tenant.user()
    scanner = tenant.client(REMOTE_ADDR="10.2.0.1")
    for index in range(five_per_hour):
        assert log_in(scanner, f"nobody-{index}@example.com", "guess").status_code == 200
    assert log_in(scanner, user.email, HARNESS_PASSWORD).status_code == 429
    assert not is_logged_in(scanner)
    bystander = tenant.client(REMOTE_ADDR="10.2.0.2")
    assert log_in(bystander, user.email, HARNESS_PASSWORD).status_code == 302


def request_reset(client, email: str):
    mail.outbox.clear()
    response = client.post(reverse("accounts:password_reset"), {"email": email})
    assert response["Location"] == reverse("accounts:password_reset_done")
    return response


def follow_reset_link(client, host: str, new_password: str) -> str:
    """Open the emailed link and set `new_password`; return the link's path."""
    (message,) = mail.outbox
    link = re.search(r"(https?)://([^/\s]+)(/accounts/reset/\S+/)", message.body)
    assert link is not None, message.body
    assert link.group(2) == host  # the tenant's own host, taken from the request
    form_page = client.get(link.group(3), follow=True)
    assert form_page.context["validlink"]
    done = client.post(form_page.redirect_chain[-1][0], {"new_password1": new_password, "new_password2": new_password})
    assert done["Location"] == reverse("accounts:password_reset_complete")
    return link.group(3)


def test_password_reset_mails_a_link_at_the_tenant_host_that_sets_a_new_password(tenant):
    user = tenant.user()
    client = tenant.client()
    request_reset(client, user.email.upper())
    (message,) = mail.outbox
    assert message.to == [user.email]
    assert tenant.tenant.display_name in message.subject

    path = follow_reset_link(client, tenant.host, PASSWORD)
    assert log_in(tenant.client(), user.email, HARNESS_PASSWORD).status_code == 200
    assert log_in(tenant.client(), user.email, PASSWORD).status_code == 302
    # The link works once.
    assert client.get(path, follow=True).context["validlink"] is False


def test_password_reset_sends_nothing_to_strangers_and_answers_the_same(tenant, other_tenant):
    member_elsewhere = other_tenant.user()
    for email in (fresh_email(), member_elsewhere.email):
        request_reset(tenant.client(), email)  # the same redirect as for a member
        assert mail.outbox == []
    hostile = tenant.client().post(reverse("accounts:password_reset"), {"email": HOSTILE})
    assert hostile.context["form"].errors["email"]
    assert "<script>alert(1)</script>" not in hostile.content.decode()
    assert mail.outbox == []


def test_ensure_member_is_idempotent_case_blind_and_never_demotes_an_owner(tenant):
    email = fresh_email()
    owner, membership = ensure_member(email, tenant.tenant.id, "owner")
    again, same = ensure_member(email.lower(), tenant.tenant.id, "member")
    assert (again.pk, same.pk) == (owner.pk, membership.pk)
    assert same.role == "owner"
    assert User.objects.filter(email__iexact=email).count() == 1
    assert owner.email == email.lower()
    assert not owner.has_usable_password()

    member, _ = ensure_member(fresh_email(), tenant.tenant.id)
    _, promoted = ensure_member(member.email, tenant.tenant.id, "admin")
    assert promoted.role == "admin"


def test_an_owner_made_without_a_password_sets_one_by_password_reset(tenant):
    owner, _ = ensure_member(fresh_email(), tenant.tenant.id, "owner")
    client = tenant.client()
    request_reset(client, owner.email)
    follow_reset_link(client, tenant.host, PASSWORD)
    assert log_in(client, owner.email, PASSWORD).status_code == 302


def test_password_reset_requests_are_limited_per_email_and_mail_nothing_more(tenant):
    user = tenant.user()
    with override_settings(TENANTRY_PASSWORD_RESET_RATE="3/h"):
        for index in range(3):
            request_reset(tenant.client(REMOTE_ADDR=f"10.3.0.{index}"), user.email)
            assert len(mail.outbox) == 1
        mail.outbox.clear()
        flooded = tenant.client(REMOTE_ADDR="10.3.0.9").post(reverse("accounts:password_reset"),
                                                             {"email": user.email.upper()})
        assert flooded.status_code == 429
        assert 0 < int(flooded["Retry-After"]) <= 3600
        assert "Too many reset requests" in flooded.content.decode()
        assert mail.outbox == []
        # Another address of the same tenant is not held back by this one's count.
        other = tenant.user()
        request_reset(tenant.client(REMOTE_ADDR="10.3.0.10"), other.email)
        assert len(mail.outbox) == 1
