"""The REST API at a tenant's host, through the full middleware stack on real PostgreSQL and Redis:
tokens, membership, projects CRUD, errors, tenant isolation, CSRF and the OpenAPI document."""
import http.client
import json
import logging
import re

import pytest
from django.db import connection, transaction
from django.test import Client, override_settings
from django.urls import reverse
from django_tenants.utils import tenant_context
from drf_spectacular.validation import validate_schema
from rest_framework.authtoken.models import Token

from harness import new_tenant
from localplatform import config
from tenantry.accounts.models import Membership
from tenantry.api.exceptions import SERVER_ERROR, api_exception_handler
from tenantry.billing.guards import NO_SUBSCRIPTION
from tenantry.billing.services import start_trial
from tenantry.projects import services
from tenantry.projects.models import Project
from testkit.hostile import HOSTILE
from testkit.statements import kinds, pooled_capture

# Tenants on the free plan, as the operator makes them: writes need a live subscription.
pytestmark = [pytest.mark.integration, pytest.mark.tenant_plan("free")]

PASSWORD = "correct horse battery"
TOKEN_URL = "/api/v1/auth/token/"
PROJECTS = "/api/v1/projects/"
def detail_url(pk) -> str:
    return f"{PROJECTS}{pk}/"


def api_client(t, user=None, role: str = "member", **kwargs) -> tuple[Client, "object"]:
    """A client at `t`'s host sending `user`'s API token (a new `role` member if no user)."""
    user = user or t.user(role)
    token, _ = Token.objects.get_or_create(user=user)
    return t.client(HTTP_AUTHORIZATION=f"Token {token.key}", **kwargs), user


def session_client(t, user, **kwargs) -> Client:
    """A browser signed in at `t` by session. Sessions live in the tenant-scoped cache, so the login
    must be stored under that tenant's schema."""
    client = t.client(**kwargs)
    with tenant_context(t.tenant):
        client.force_login(user, backend="tenantry.accounts.backends.TenantMembershipBackend")
    return client


def post_json(client, url, body, method="post"):
    return getattr(client, method)(url, data=json.dumps(body), content_type="application/json")


def projects_in(t) -> list[tuple]:
    with tenant_context(t.tenant):
        return list(Project.objects.order_by("id").values_list("id", "name", "description", "status"))


def make_projects(t, owner, names, **fields) -> list[Project]:
    with tenant_context(t.tenant):
        return [services.create_project(owner=owner, name=name, **fields) for name in names]


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["code"] == code and body["detail"], body
    return body


# --- tokens ------------------------------------------------------------------------------------------

def test_a_member_exchanges_email_and_password_for_a_token_that_works(tenant):
    user = tenant.user("admin", password=PASSWORD)
    client = tenant.client()
    response = post_json(client, TOKEN_URL, {"email": user.email.upper(), "password": PASSWORD})
    assert response.status_code == 200, response.content
    token = response.json()["token"]
    assert token == Token.objects.get(user=user).key
    assert post_json(client, TOKEN_URL, {"email": user.email, "password": PASSWORD}).json() == {"token": token}

    me = tenant.client(HTTP_AUTHORIZATION=f"Token {token}").get("/api/v1/me/")
    assert me.status_code == 200
    assert me.json() == {
        "user": {"id": user.pk, "email": user.email, "full_name": ""},
        "tenant": {"display_name": tenant.tenant.display_name},
        "role": "admin",
    }
    assert tenant.schema not in me.content.decode()


def test_a_wrong_password_a_stranger_and_an_unknown_email_get_the_same_refusal(tenant, other_tenant):
    member = tenant.user(password=PASSWORD)
    stranger = other_tenant.user(password=PASSWORD)  # right password, wrong tenant
    client = tenant.client()
    bodies = []
    for email, password in [(member.email, "wrong password!"), (stranger.email, PASSWORD),
                            ("nobody@example.com", PASSWORD)]:
        response = post_json(client, TOKEN_URL, {"email": email, "password": password})
        body = assert_error(response, 401, "invalid_credentials")
        assert response["WWW-Authenticate"] == "Token"
        assert "token" not in body
        bodies.append(body)
    assert bodies[0] == bodies[1] == bodies[2]
    assert not Token.objects.filter(user__in=[member, stranger]).exists()


def test_a_token_request_without_credentials_is_a_field_error(tenant):
    body = assert_error(post_json(tenant.client(), TOKEN_URL, {"email": "not-an-email"}), 400, "invalid")
    assert body["email"] == ["Enter a valid email address."]
    assert body["password"] == ["This field is required."]


@override_settings(TENANTRY_LOGIN_RATE="3/h")  # an hour-long window: no test straddles its end
def test_failed_token_requests_are_limited_per_email(tenant):
    target, bystander = tenant.user(password=PASSWORD), tenant.user(password=PASSWORD)
    for n in range(3):  # from three addresses: only the email's counter reaches the limit
        client = tenant.client(REMOTE_ADDR=f"127.0.0.{20 + n}")
        assert_error(post_json(client, TOKEN_URL, {"email": target.email, "password": "nope nope"}),
                     401, "invalid_credentials")

    fresh_address = tenant.client(REMOTE_ADDR="127.0.0.30")
    response = post_json(fresh_address, TOKEN_URL, {"email": target.email.upper(), "password": PASSWORD})
    body = assert_error(response, 429, "throttled")
    assert int(response["Retry-After"]) > 0
    assert "token" not in body and not Token.objects.filter(user=target).exists()
    assert post_json(fresh_address, TOKEN_URL, {"email": bystander.email, "password": PASSWORD}).status_code == 200


@override_settings(TENANTRY_LOGIN_RATE="3/h")
def test_failed_token_requests_are_limited_per_address_and_per_tenant(tenant, other_tenant):
    member = tenant.user(password=PASSWORD)
    attacker = tenant.client(REMOTE_ADDR="127.0.0.40")
    for n in range(3):
        assert_error(post_json(attacker, TOKEN_URL, {"email": f"guess{n}@example.com", "password": "x" * 12}),
                     401, "invalid_credentials")

    assert_error(post_json(attacker, TOKEN_URL, {"email": member.email, "password": PASSWORD}), 429, "throttled")
    elsewhere = tenant.client(REMOTE_ADDR="127.0.0.41")
    assert post_json(elsewhere, TOKEN_URL, {"email": member.email, "password": PASSWORD}).status_code == 200
    # The counters belong to the tenant: the same address may still sign in at another one.
    other = other_tenant.user(password=PASSWORD)
    at_other = other_tenant.client(REMOTE_ADDR="127.0.0.40")
    assert post_json(at_other, TOKEN_URL, {"email": other.email, "password": PASSWORD}).status_code == 200


# --- who may call --------------------------------------------------------------------------------------

def test_anonymous_and_bad_tokens_get_json_refusals(tenant):
    for response in [tenant.client().get("/api/v1/me/"), post_json(tenant.client(), PROJECTS, {"name": "x"})]:
        assert_error(response, 401, "not_authenticated")
        assert response["WWW-Authenticate"] == "Token"
    bad_token = tenant.client(HTTP_AUTHORIZATION="Token " + "0" * 40)
    assert_error(bad_token.get(PROJECTS), 401, "authentication_failed")
    assert projects_in(tenant) == []


def test_a_token_of_one_tenant_gets_nothing_at_another(tenant, other_tenant):
    client_a, user_a = api_client(tenant)
    make_projects(other_tenant, other_tenant.user(), ["B's secret"])
    at_b = other_tenant.client(HTTP_AUTHORIZATION=client_a.defaults["HTTP_AUTHORIZATION"])

    for response in [at_b.get("/api/v1/me/"), at_b.get(PROJECTS),
                     post_json(at_b, PROJECTS, {"name": "planted by A"})]:
        body = assert_error(response, 403, "permission_denied")
        assert "secret" not in response.content.decode() and user_a.email not in response.content.decode()
        assert set(body) == {"detail", "code"}
    assert [name for _, name, *_ in projects_in(other_tenant)] == ["B's secret"]
    assert client_a.get("/api/v1/me/").status_code == 200  # the same token still works at A


def test_membership_is_checked_on_every_request(tenant):
    client, user = api_client(tenant)
    assert client.get(PROJECTS).status_code == 200
    Membership.objects.filter(user=user, tenant_id=tenant.tenant.id).delete()
    assert_error(client.get(PROJECTS), 403, "permission_denied")


# --- projects -------------------------------------------------------------------------------------------

def test_projects_crud_with_json_bodies(tenant):
    client, user = api_client(tenant)

    created = post_json(client, PROJECTS, {"name": "Apollo", "description": "to the moon"})
    assert created.status_code == 201, created.content
    project = created.json()
    assert {k: project[k] for k in ["name", "description", "status", "owner"]} == \
        {"name": "Apollo", "description": "to the moon", "status": "active", "owner": user.email}
    pk = project["id"]
    with tenant_context(tenant.tenant):
        assert Project.objects.get(pk=pk).owner_id == user.pk

    assert client.get(detail_url(pk)).json() == project

    replaced = post_json(client, detail_url(pk), {"name": "Artemis", "description": "", "status": "on_hold",
                                                  "owner": "someone@else.example", "id": 999}, method="put")
    assert replaced.status_code == 200, replaced.content
    assert (replaced.json()["id"], replaced.json()["owner"]) == (pk, user.email)  # read-only fields ignored
    patched = post_json(client, detail_url(pk), {"status": "done"}, method="patch")
    assert patched.status_code == 200
    assert projects_in(tenant) == [(pk, "Artemis", "", "done")]

    listed = client.get(PROJECTS).json()
    assert listed["count"] == 1 and listed["results"] == [patched.json()]

    deleted = client.delete(detail_url(pk))
    assert (deleted.status_code, deleted.content) == (204, b"")
    assert projects_in(tenant) == []
    assert_error(client.get(detail_url(pk)), 404, "not_found")


def test_writes_need_a_live_subscription_and_reads_do_not():
    """A tenant nobody pays for: its member reads what is there, and every write is a 402 that
    changes nothing, as the web pages send them to billing instead."""
    unpaid = new_tenant(plan=None)
    client, user = api_client(unpaid)
    [project] = make_projects(unpaid, user, ["Kept"])
    assert client.get(PROJECTS).json()["count"] == 1
    assert client.get(detail_url(project.pk)).status_code == 200
    for method, url, body in [("post", PROJECTS, {"name": "New"}), ("patch", detail_url(project.pk), {"name": "X"}),
                              ("put", detail_url(project.pk), {"name": "X"}), ("delete", detail_url(project.pk), None)]:
        response = client.delete(url) if body is None else post_json(client, url, body, method=method)
        assert assert_error(response, 402, "subscription_required")["detail"] == NO_SUBSCRIPTION
    assert [row[1] for row in projects_in(unpaid)] == ["Kept"]

    start_trial(user)
    assert post_json(client, PROJECTS, {"name": "New"}).status_code == 201


def test_the_list_pages_searches_filters_and_orders(tenant):
    client, user = api_client(tenant)
    make_projects(tenant, user, [f"Project {n:02d}" for n in range(28)])
    make_projects(tenant, user, ["Zebra", "alpha"], status="done", description="Needle in a HAYSTACK")

    first = client.get(PROJECTS).json()
    assert first["count"] == 30 and len(first["results"]) == 25
    assert first["previous"] is None and first["next"].endswith("/api/v1/projects/?page=2")
    assert [p["name"] for p in first["results"][:2]] == ["alpha", "Zebra"]  # newest first
    second = client.get(first["next"]).json()
    assert len(second["results"]) == 5 and second["next"] is None
    assert {p["id"] for p in first["results"]}.isdisjoint(p["id"] for p in second["results"])
    assert len(client.get(PROJECTS, {"page_size": 7}).json()["results"]) == 7
    assert len(client.get(PROJECTS, {"page_size": 1000}).json()["results"]) == 30  # capped at 100
    assert_error(client.get(PROJECTS, {"page": 9}), 404, "not_found")

    def names(**query):
        return [p["name"] for p in client.get(PROJECTS, query).json()["results"]]

    assert names(search="haystack") == ["alpha", "Zebra"]  # description, any case
    assert names(search="project 1", ordering="name") == [f"Project {n}" for n in range(10, 20)]
    assert names(status="done", ordering="-name") == ["Zebra", "alpha"]
    assert names(status="on_hold") == []
    assert names(search="Project 0", ordering="created_at")[:2] == ["Project 00", "Project 01"]

    body = assert_error(client.get(PROJECTS, {"status": "bogus", "ordering": "owner"}), 400, "invalid")
    assert body["status"] == ['"bogus" is not a valid choice.']
    assert body["ordering"] == ['"owner" is not a valid choice.']


# Writes only, and only the first: later ones find it in the cache (tenantry.billing.live).
LIVE_SUBSCRIPTION = ["SELECT"]


def in_transaction(*statements: str) -> list[str]:
    """A call's statements: who is calling (the token, its user, the membership role) comes from the
    identity cache (tenantry.accounts.identity), warm after the first call, so only the view's own
    run between BEGIN and COMMIT, after the SET LOCAL that the first of them brings."""
    return ["BEGIN", *(["SET LOCAL", *statements] if statements else []), "COMMIT"]


def test_query_counts_are_fixed_whatever_the_page_size(tenant):
    client, user = api_client(tenant)
    owners = [user, tenant.user(), tenant.user()]
    for n, owner in enumerate(owners):
        make_projects(tenant, owner, [f"p{n}-{i}" for i in range(10)])
    client.get(PROJECTS)  # warm the host lookup and identity caches

    for size in (1, 30):
        with pooled_capture() as captured:
            response = client.get(PROJECTS, {"page_size": size})
        assert len(response.json()["results"]) == size
        newest_owners = {owners[-1].email} if size == 1 else {o.email for o in owners}
        assert {p["owner"] for p in response.json()["results"]} == newest_owners
        # the count, then one page with its owners joined
        assert kinds(captured) == in_transaction("SELECT", "SELECT"), captured.captured_queries

    pk = response.json()["results"][0]["id"]
    for request, expected in [
        (lambda: client.get("/api/v1/me/"), []),
        (lambda: client.get(detail_url(pk)), ["SELECT"]),
        (lambda: post_json(client, PROJECTS, {"name": "new"}),
         LIVE_SUBSCRIPTION + ["SELECT", "INSERT"]),  # full_clean: the owner
        (lambda: post_json(client, detail_url(pk), {"status": "done"}, "patch"), ["SELECT", "SELECT", "UPDATE"]),
        (lambda: client.delete(detail_url(pk)), ["SELECT", "DELETE"]),
    ]:
        with pooled_capture() as captured:
            assert request().status_code < 300
        assert kinds(captured) == in_transaction(*expected), captured.captured_queries


def test_the_api_through_gunicorn_and_pgbouncer(web_app):
    """The same calls as a real client makes, through this run's gunicorn and the transaction pooler."""
    t = new_tenant(plan="free")
    user = t.user(password=PASSWORD)
    make_projects(t, user, ["Served"])

    def call(method, path, body=None, token=None):
        conn = http.client.HTTPConnection(config.HOST, web_app.web_port, timeout=10)
        headers = {"Host": f"{t.host}:{web_app.web_port}", "Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Token {token}"
        try:
            conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
            response = conn.getresponse()
            return response.status, json.loads(response.read())
        finally:
            conn.close()

    status, body = call("POST", TOKEN_URL, {"email": user.email, "password": PASSWORD})
    assert status == 200, body
    token = body["token"]
    assert call("POST", PROJECTS, {"name": "Through the pool"}, token)[0] == 201
    status, body = call("GET", PROJECTS + "?ordering=name", token=token)
    assert (status, [p["name"] for p in body["results"]]) == (200, ["Served", "Through the pool"])
    assert call("GET", detail_url(10 ** 6), token=token) == (404, {"detail": "Not found.", "code": "not_found"})


# --- bad input -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("body, field, message", [
    ({"description": "no name"}, "name", "This field is required."),
    ({"name": ""}, "name", "This field may not be blank."),
    ({"name": "n" * 201}, "name", "Ensure this field has no more than 200 characters."),
    ({"name": "ok", "description": "d" * 5001}, "description", "Ensure this field has no more than 5000 characters."),
    ({"name": "ok", "status": "archived"}, "status", '"archived" is not a valid choice.'),
    ({"name": "nul\x00byte"}, "name", "Null characters are not allowed."),
    ({"name": ["a", "list"]}, "name", "Not a valid string."),
    (["not", "an", "object"], "non_field_errors", "Invalid data. Expected a dictionary, but got list."),
])
def test_invalid_projects_are_field_errors_and_change_nothing(tenant, body, field, message):
    client, user = api_client(tenant)
    [existing] = make_projects(tenant, user, ["Keep me"])
    before = projects_in(tenant)

    methods = ["post", "put"] if body == {"description": "no name"} else ["post", "put", "patch"]
    for method in methods:  # (a PATCH may leave the name out)
        url = PROJECTS if method == "post" else detail_url(existing.pk)
        error = assert_error(post_json(client, url, body, method=method), 400, "invalid")
        assert error[field] == [message]
    assert projects_in(tenant) == before


def test_malformed_and_oversized_bodies_are_json_errors(tenant):
    client, _ = api_client(tenant)
    body = assert_error(client.post(PROJECTS, data='{"name": "half', content_type="application/json"),
                        400, "parse_error")
    assert body["detail"].startswith("JSON parse error")
    assert_error(client.post(PROJECTS, data={"name": "form"}), 415, "unsupported_media_type")
    too_big = json.dumps({"name": "big", "description": "x" * (1024 * 1024)})
    assert_error(client.post(PROJECTS, data=too_big, content_type="application/json"), 413, "payload_too_large")
    assert projects_in(tenant) == []


def test_hostile_strings_are_stored_and_returned_verbatim(tenant):
    client, _ = api_client(tenant)
    ids = []
    for text in HOSTILE:
        response = post_json(client, PROJECTS, {"name": text, "description": text})
        assert response.status_code == 201, response.content
        assert response["Content-Type"] == "application/json"
        assert (response.json()["name"], response.json()["description"]) == (text, text)
        ids.append(response.json()["id"])
    assert [(name, description) for _, name, description, _ in projects_in(tenant)] == [(t, t) for t in HOSTILE]
    assert [client.get(detail_url(pk)).json()["name"] for pk in ids] == HOSTILE

    def found(search):
        return sorted(p["name"] for p in client.get(PROJECTS, {"search": search}).json()["results"])

    # LIKE's wildcards and escape character are searched for literally.
    assert found("%") == sorted([HOSTILE[3], HOSTILE[4]])
    assert found("_") == sorted([HOSTILE[1], HOSTILE[2], HOSTILE[4]])
    assert found("\\") == [HOSTILE[4]]


# --- tenant isolation ----------------------------------------------------------------------------------

def test_a_project_id_of_another_tenant_is_a_404_and_stays_untouched(tenant, other_tenant):
    client_a, _ = api_client(tenant)
    [theirs] = make_projects(other_tenant, other_tenant.user(), ["B only"], description="B's data")
    before = projects_in(other_tenant)
    url = detail_url(theirs.pk)  # tenant A has no project at all, so this id is not in its schema

    assert_error(client_a.get(url), 404, "not_found")
    assert_error(post_json(client_a, url, {"name": "hijacked", "status": "done"}, method="put"), 404, "not_found")
    assert_error(post_json(client_a, url, {"name": "hijacked"}, method="patch"), 404, "not_found")
    assert_error(client_a.delete(url), 404, "not_found")
    assert client_a.get(PROJECTS).json()["count"] == 0
    assert projects_in(other_tenant) == before
    assert projects_in(tenant) == []


def test_an_id_beyond_any_integer_is_a_404(tenant):
    client, _ = api_client(tenant)
    assert_error(client.get(detail_url(10 ** 30)), 404, "not_found")


# --- sessions and CSRF -----------------------------------------------------------------------------------

def test_session_authentication_requires_csrf_for_writes(tenant):
    user = tenant.user()
    browser = session_client(tenant, user, enforce_csrf_checks=True)

    refused = post_json(browser, PROJECTS, {"name": "forged"})
    body = assert_error(refused, 403, "permission_denied")
    assert "CSRF" in body["detail"]
    assert projects_in(tenant) == []

    me = browser.get("/api/v1/me/")  # reads need no CSRF token; this one hands the browser its cookie
    assert me.status_code == 200 and me.json()["user"]["email"] == user.email
    csrf = browser.cookies["csrftoken"].value
    created = browser.post(PROJECTS, data=json.dumps({"name": "real"}), content_type="application/json",
                           HTTP_X_CSRFTOKEN=csrf)
    assert created.status_code == 201, created.content
    assert [name for _, name, *_ in projects_in(tenant)] == ["real"]


def test_a_session_from_one_tenant_is_unknown_at_another(tenant, other_tenant):
    browser = session_client(tenant, tenant.user())
    assert browser.get("/api/v1/me/").status_code == 200
    at_other = other_tenant.client()
    at_other.cookies = browser.cookies
    assert_error(at_other.get("/api/v1/me/"), 401, "not_authenticated")


# --- errors and the document ----------------------------------------------------------------------------

def test_unknown_paths_and_methods_are_json_errors(tenant):
    client, _ = api_client(tenant)
    assert reverse("api-root") == "/api/v1/"
    root = client.get("/api/v1/").json()
    assert root["projects"].endswith("/api/v1/projects/") and root["token"].endswith(TOKEN_URL)
    for path in ["/api/", "/api/v1/nothing/here/", "/api/v2/projects/"]:
        assert_error(client.get(path), 404, "not_found")
        assert_error(client.post(path), 404, "not_found")
    assert client.get("/api/v1/projects").status_code == 301  # Django adds the slash
    assert_error(client.delete("/api/v1/me/"), 405, "method_not_allowed")


def test_a_service_validation_error_becomes_a_400_and_rolls_back(tenant):
    """The services' full_clean() guards the model even when a serializer let a value through."""
    owner = tenant.user()
    with tenant_context(tenant.tenant), transaction.atomic():
        try:
            services.create_project(owner=owner, name="x" * 201, status="archived")
        except Exception as exc:  # django.core.exceptions.ValidationError, from the real service
            response = api_exception_handler(exc, {})
        assert transaction.get_rollback()
        transaction.set_rollback(False)
    assert response.status_code == 400
    assert response.data["code"] == "invalid"
    assert response.data["name"] == ["Ensure this value has at most 200 characters (it has 201)."]
    assert response.data["status"] == ["Value 'archived' is not a valid choice."]
    assert projects_in(tenant) == []


def test_an_unexpected_error_is_a_bare_500_and_is_logged(tenant, caplog):
    with tenant_context(tenant.tenant), transaction.atomic():
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1 / 0")
        except Exception as exc:  # a real DataError from PostgreSQL
            with caplog.at_level(logging.ERROR, logger="tenantry.api.exceptions"):
                response = api_exception_handler(exc, {"view": object()})
        assert transaction.get_rollback()
    assert response.status_code == 500
    assert response.data == SERVER_ERROR
    assert "division" not in json.dumps(response.data) and "Error" not in json.dumps(response.data)
    [record] = caplog.records
    assert "division by zero" in str(record.exc_info[1])


def test_the_openapi_document_is_valid_and_describes_v1(tenant):
    response = tenant.client().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    document = json.loads(response.content)
    validate_schema(document)
    assert {"/api/v1/projects/", "/api/v1/projects/{id}/", "/api/v1/me/", TOKEN_URL} <= set(document["paths"])
    assert {"get", "put", "patch", "delete"} <= set(document["paths"]["/api/v1/projects/{id}/"])
    token_scheme = document["components"]["securitySchemes"]["tokenAuth"]
    assert (token_scheme["type"], token_scheme["in"], token_scheme["name"]) == ("apiKey", "header", "Authorization")
    assert {"tokenAuth": []} in document["paths"]["/api/v1/projects/"]["get"]["security"]
    listed = {p["name"] for p in document["paths"]["/api/v1/projects/"]["get"]["parameters"]}
    assert {"search", "status", "ordering", "page", "page_size"} <= listed
    assert tenant.schema not in response.content.decode()


def test_the_api_speaks_only_json_and_reads_the_query_string_only_where_it_takes_parameters(tenant):
    client, _ = api_client(tenant)
    assert client.get("/api/v1/me/", {"format": "xml"}).status_code == 200  # ?format= is not read
    assert_error(client.get("/api/v1/me/", HTTP_ACCEPT="text/html"), 406, "not_acceptable")
    crowded = "&".join(["a"] * 1001)  # more fields than DATA_UPLOAD_MAX_NUMBER_FIELDS
    assert client.get(f"/api/v1/me/?{crowded}").status_code == 200
    assert_error(client.get(f"{PROJECTS}?{crowded}"), 400, "parse_error")
    assert_error(client.get(f"{PROJECTS}%0A1/"), 404, "not_found")  # a line break in the path


DETAIL = "/api/v1/projects/{id}/"
# What each operation can answer besides success; tenantry.api.schema says why.
DOCUMENTED_ERRORS = {
    ("post", TOKEN_URL): {400, 401, 406, 413, 415, 429},
    ("get", "/api/v1/me/"): {401, 403, 406},
    ("get", PROJECTS): {400, 401, 403, 404, 406},
    ("post", PROJECTS): {400, 401, 402, 403, 406, 413, 415},
    ("get", DETAIL): {401, 403, 404, 406},
    ("put", DETAIL): {400, 401, 402, 403, 404, 406, 413, 415},
    ("patch", DETAIL): {400, 401, 402, 403, 404, 406, 413, 415},
    ("delete", DETAIL): {401, 402, 403, 404, 406},
}


def test_the_openapi_document_lists_each_operations_errors(tenant):
    document = json.loads(tenant.client().get("/api/schema/", {"format": "json"}).content)
    operations = {(method, path): operation for path, item in document["paths"].items()
                  for method, operation in item.items()}
    assert set(operations) == set(DOCUMENTED_ERRORS)
    for (method, path), operation in operations.items():
        errors = {int(status): response for status, response in operation["responses"].items() if int(status) >= 400}
        assert set(errors) == DOCUMENTED_ERRORS[method, path], (method, path)
        for status, response in errors.items():
            schema = {"$ref": "#/components/schemas/" + ("ValidationError" if status == 400 else "Error")}
            assert response["content"] == {"application/json": {"schema": schema}}, (method, path, status)
        if 401 in errors:
            assert errors[401]["headers"]["WWW-Authenticate"]["required"] is True

    def codes(method, path, status) -> list[str]:
        """The codes an error response's description names, one a line: "* `code`: why"."""
        return re.findall(r"^\* `(\w+)`: \S", operations[method, path]["responses"][str(status)]["description"], re.M)

    assert codes("post", TOKEN_URL, 400) == codes("put", DETAIL, 400) == ["parse_error", "invalid"]
    assert codes("get", PROJECTS, 400) == ["parse_error", "invalid"]  # query parameters
    assert codes("post", TOKEN_URL, 401) == ["invalid_credentials"]
    assert codes("get", "/api/v1/me/", 401) == ["not_authenticated", "authentication_failed"]
    assert codes("delete", DETAIL, 402) == ["subscription_required"]
    assert codes("patch", DETAIL, 403) == ["permission_denied"]
    assert codes("get", PROJECTS, 404) == codes("get", DETAIL, 404) == ["not_found"]
    assert codes("get", "/api/v1/me/", 406) == ["not_acceptable"]
    assert codes("post", PROJECTS, 413) == ["payload_too_large"]
    assert codes("post", PROJECTS, 415) == ["unsupported_media_type"]
    assert codes("post", TOKEN_URL, 429) == ["throttled"]
    [id_parameter] = operations["get", DETAIL]["parameters"]
    assert id_parameter["schema"] == {"type": "integer", "minimum": 0}  # <int:pk>: no route for "-1"
    retry_after = operations["post", TOKEN_URL]["responses"]["429"]["headers"]["Retry-After"]
    assert (retry_after["required"], retry_after["schema"]["type"]) == (True, "integer")

    schemas = document["components"]["schemas"]
    for name in ["Error", "ValidationError"]:
        assert {field: schema["type"] for field, schema in schemas[name]["properties"].items()} == \
            {"code": "string", "detail": "string"}
        assert schemas[name]["required"] == ["code", "detail"]
    assert "additionalProperties" not in schemas["Error"]
    # each field in error, under its own name: its messages
    assert schemas["ValidationError"]["additionalProperties"] == {"type": "array", "items": {"type": "string"}}
