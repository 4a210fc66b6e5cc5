"""SQL, script and template fragments in every text field a visitor or a client can fill, and in a
tenant's display name: each is refused as invalid or stored verbatim and shown escaped, never a 5xx
(Django's test client re-raises a view's exception, so a crash fails here with its traceback).

test_projects.py, test_accounts.py and test_api.py already cover the project fields, the sign-up
name and the API's project bodies with one or a few strings; this covers the rest with more.
"""
import json
import uuid

import pytest
from django.test import override_settings
from django.urls import reverse
from django.utils.html import escape
from django_tenants.utils import tenant_context
from rest_framework.authtoken.models import Token

from harness import new_tenant
from tenantry.accounts.models import User
from tenantry.projects.models import Project
from testkit.hostile import HOSTILE

pytestmark = [pytest.mark.integration, pytest.mark.tenant_plan("free")]

FRAGMENTS = [*HOSTILE, "' OR '1'='1", "1; SELECT pg_sleep(5)", "</textarea><script>alert(2)</script>",
             "javascript:alert(3)", "\"><img src=x onerror=alert(4)>", "${jndi:ldap://x}", "%00", "\x00",
             "a" * 3000, "x@y.z'; DROP TABLE accounts_user; --", "<svg/onload=alert(5)>@example.com"]
PASSWORD = "a long unusual passphrase 42"


def shown_safely(fragment: str, page: str) -> bool:
    """Markup in a fragment never reaches the page unescaped."""
    return "<" not in fragment or fragment not in page


def visitor(t, n: int):
    """A client from its own address, so the log-in rate limits (per address) stay out of the way."""
    return t.client(REMOTE_ADDR=f"10.9.{n // 250}.{n % 250 + 1}")


# Every log-in of an unknown email still hashes a password (timing): a fast hasher keeps this short.
@override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"])
def test_every_account_form_field_refuses_or_keeps_fragments_and_never_fails(tenant):
    for n, fragment in enumerate(FRAGMENTS):
        client = visitor(tenant, n)
        # Fragments as the email: an invalid email is a field error on the page, escaped.
        for url, data in [
            (reverse("accounts:signup"), {"email": fragment, "full_name": fragment, "password1": fragment,
                                          "password2": fragment}),
            (reverse("accounts:login"), {"username": fragment, "password": fragment}),
            (reverse("accounts:password_reset"), {"email": fragment}),
        ]:
            response = client.post(url, data)
            page = response.content.decode()
            assert response.status_code in (200, 302), (url, fragment, response.status_code)
            assert shown_safely(fragment, page), (url, fragment)

        # Fragments as the name and password of a real sign-up: stored as typed (or a field error).
        email = f"p{uuid.uuid4().hex[:8]}@example.com"
        response = client.post(reverse("accounts:signup"), {"email": email, "full_name": fragment[:200],
                                                            "password1": PASSWORD + fragment[:50],
                                                            "password2": PASSWORD + fragment[:50]})
        if "\x00" in fragment:
            assert response.status_code == 200 and "Null characters are not allowed." in response.content.decode()
            continue
        assert response.status_code == 302, (fragment, response.content.decode()[:500])
        user = User.objects.get(email=email)
        assert user.full_name == fragment[:200] and user.check_password(PASSWORD + fragment[:50])
        me = client.get("/api/v1/me/")
        assert me.status_code == 200 and me.json()["user"]["full_name"] == fragment[:200]


def test_fragments_in_list_filters_and_api_parameters_are_errors_or_results_never_5xx(tenant):
    client, user = tenant.logged_in_client()
    api = tenant.client(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    with tenant_context(tenant.tenant):
        Project.objects.create(name="untouched", owner=user)
    for n, fragment in enumerate(FRAGMENTS):
        page = client.get("/projects/", {"q": fragment, "status": fragment, "page": fragment})
        assert page.status_code == 200 and shown_safely(fragment, page.content.decode()), fragment
        for parameter in ("search", "ordering", "status", "page", "page_size"):
            response = api.get("/api/v1/projects/", {parameter: fragment})
            assert response.status_code in (200, 400, 404), (parameter, fragment, response.status_code)
            assert response["Content-Type"] == "application/json"
        credentials = json.dumps({"email": fragment, "password": fragment})
        token = visitor(tenant, n).post("/api/v1/auth/token/", data=credentials, content_type="application/json")
        assert token.status_code in (400, 401), (fragment, token.status_code)
        assert client.get(f"/billing/subscribe/{fragment[:40]}/").status_code in (302, 404, 405)
    with tenant_context(tenant.tenant):
        assert list(Project.objects.values_list("name", flat=True)) == ["untouched"]


def test_project_fields_keep_every_fragment_through_the_form_and_the_api(tenant):
    client, user = tenant.logged_in_client()
    api = tenant.client(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    for fragment in FRAGMENTS:
        name = fragment[:200]
        form = client.post("/projects/new/", {"name": name, "description": fragment, "status": "active"})
        created = api.post("/api/v1/projects/", data=json.dumps({"name": name, "description": fragment}),
                           content_type="application/json")
        if "\x00" in fragment:
            assert (form.status_code, created.status_code) == (200, 400), fragment
            continue
        assert (form.status_code, created.status_code) == (302, 201), (fragment, created.content[:300])
        with tenant_context(tenant.tenant):
            stored = list(Project.objects.filter(pk__in=[int(form["Location"].split("/")[2]), created.json()["id"]])
                          .values_list("name", "description"))
        assert stored == [(name, fragment)] * 2, fragment
        for path in (form["Location"], f"/projects/{created.json()['id']}/edit/", "/projects/", "/dashboard/"):
            assert shown_safely(fragment, client.get(path).content.decode()), (path, fragment)


@pytest.mark.parametrize("display_name", ['<script>alert("t")</script>', "Acme' OR 1=1; --",
                                          "{{ request }} {% now 'Y' %}"])
def test_a_hostile_tenant_display_name_is_shown_literally_and_escaped(database, display_name):
    """The name comes from the Tenant spec (kubectl); the pages that name the tenant show it as text."""
    t = new_tenant(display_name=display_name, plan="free")
    anonymous = t.client()
    naming = ["/accounts/login/", "/accounts/signup/", "/accounts/password-reset/"]
    client, user = t.logged_in_client()
    pages = {path: anonymous.get(path) for path in ["/", *naming]}
    pages |= {f"{path} (member)": client.get(path) for path in ("/", "/dashboard/", "/billing/", "/projects/")}
    for path, response in pages.items():
        page = response.content.decode()
        assert response.status_code == 200, (path, response.status_code)
        assert shown_safely(display_name, page), path
        if path in naming or path == "/billing/ (member)":
            assert escape(display_name) in page, path  # literally: not evaluated as a template
    me = t.client(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}").get("/api/v1/me/")
    assert me.json()["tenant"]["display_name"] == display_name
