"""The identity cache (tenantry.accounts.identity) on the real PostgreSQL and Redis: a warm request
asks the database nothing about who is calling, and every change that matters to security is seen on
the very next request, by session and by API token alike."""
import pytest
from django.core.cache import caches
from django.db import transaction
from django.test import Client
from django_tenants.utils import tenant_context
from rest_framework.authtoken.models import Token

from harness import TestTenant
from tenantry.accounts import identity
from tenantry.accounts.models import Membership, User
from tenantry.accounts.services import ensure_member
from tenantry.core import versions
from testkit.statements import kinds, pooled_capture

pytestmark = pytest.mark.integration

ME = "/api/v1/me/"
IDENTITY_TABLES = ('"accounts_user"', '"accounts_membership"', '"authtoken_token"')


def caller(t: TestTenant, user: User, how: str) -> Client:
    """A client at `t`'s host, signed in as `user` by session or sending the user's API token."""
    if how == "token":
        token, _ = Token.objects.get_or_create(user=user)
        return t.client(HTTP_AUTHORIZATION=f"Token {token.key}")
    client = t.client()
    with tenant_context(t.tenant):  # sessions are cached under the tenant's schema
        client.force_login(user, backend="tenantry.accounts.backends.TenantMembershipBackend")
    return client


def identity_statements(captured) -> list[str]:
    return [query["sql"] for query in captured.captured_queries
            if any(table in query["sql"] for table in IDENTITY_TABLES)]


def warm(client: Client) -> None:
    """Two calls: the first fills the cache, the second must be served from it."""
    assert client.get(ME).status_code == 200
    with pooled_capture() as captured:
        assert client.get(ME).status_code == 200
    assert identity_statements(captured) == [], captured.captured_queries


def role_at(t: TestTenant, user: User) -> str | None:
    return identity.role(user.pk, t.tenant.id)


@pytest.mark.parametrize("how", ["session", "token"])
def test_a_warm_request_runs_no_sql_for_who_is_calling(tenant, how):
    user = tenant.user("admin")
    client = caller(tenant, user, how)
    assert client.get(ME).json()["role"] == "admin"

    with pooled_capture() as captured:
        response = client.get(ME)
    assert response.json()["user"]["id"] == user.pk and response.json()["role"] == "admin"
    assert "SELECT" not in kinds(captured), captured.captured_queries  # /me/ needs nothing else


def deactivate(t: TestTenant, user: User) -> None:
    user.is_active = False
    user.save()


def change_password(t: TestTenant, user: User) -> None:
    user.set_password("a brand new passphrase 7")
    user.save()


def revoke_token(t: TestTenant, user: User) -> None:
    Token.objects.get(user=user).delete()


def remove_membership(t: TestTenant, user: User) -> None:
    Membership.objects.get(user=user, tenant_id=t.tenant.id).delete()


@pytest.mark.parametrize("how, change, status, code", [
    ("session", deactivate, 401, "not_authenticated"),
    ("token", deactivate, 401, "authentication_failed"),
    ("session", change_password, 401, "not_authenticated"),  # Django's session auth hash no longer matches
    ("token", revoke_token, 401, "authentication_failed"),
    ("session", remove_membership, 403, "permission_denied"),
    ("token", remove_membership, 403, "permission_denied"),
])
def test_a_change_is_seen_on_the_very_next_request(tenant, how, change, status, code):
    user = tenant.user()
    client = caller(tenant, user, how)
    warm(client)

    change(tenant, user)
    response = client.get(ME)
    assert (response.status_code, response.json()["code"]) == (status, code), response.content


def test_a_revoked_token_and_an_inactive_user_get_drfs_own_messages(tenant):
    user = tenant.user()
    client = caller(tenant, user, "token")
    warm(client)
    deactivate(tenant, user)
    assert client.get(ME).json()["detail"] == "User inactive or deleted."
    revoke_token(tenant, user)
    assert client.get(ME).json()["detail"] == "Invalid token."


@pytest.mark.parametrize("how", ["session", "token"])
def test_a_role_change_is_seen_on_the_very_next_request(tenant, how):
    user = tenant.user("member")
    client = caller(tenant, user, how)
    warm(client)

    ensure_member(user.email, tenant.tenant.id, "admin")
    assert client.get(ME).json()["role"] == "admin"


def test_a_role_at_one_tenant_is_not_used_at_another(tenant, other_tenant):
    user = tenant.user("admin")
    at_a = caller(tenant, user, "token")
    at_b = other_tenant.client(HTTP_AUTHORIZATION=at_a.defaults["HTTP_AUTHORIZATION"])
    warm(at_a)

    assert at_b.get(ME).status_code == 403
    with pooled_capture() as captured:  # "not a member" is cached too, under the same version
        assert at_b.get(ME).status_code == 403
    assert identity_statements(captured) == [], captured.captured_queries
    ensure_member(user.email, other_tenant.tenant.id, "member")
    assert at_b.get(ME).json()["role"] == "member"
    assert at_a.get(ME).json()["role"] == "admin"


def test_an_entry_filed_under_an_old_version_is_not_served(tenant):
    user = tenant.user("member")
    assert role_at(tenant, user) == "member"
    # Behind the receivers' back (update() sends no signal): only the cache still says "member".
    Membership.objects.filter(user=user, tenant_id=tenant.tenant.id).update(role="admin")
    assert role_at(tenant, user) == "member"

    versions.bump(caches["platform"], identity.version_key(user.pk))
    assert role_at(tenant, user) == "admin"


def test_a_transaction_that_changed_a_user_files_nothing_a_rollback_would_leave_behind(tenant):
    user = tenant.user("member")
    with transaction.atomic():
        ensure_member(user.email, tenant.tenant.id, "admin")
        assert role_at(tenant, user) == "admin"  # its own change, read from the database
        transaction.set_rollback(True)
    assert role_at(tenant, user) == "member"
