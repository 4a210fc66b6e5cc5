"""Figure 4a: SQL statements per request for each main view, counted in this process with Django's
test client and CaptureQueriesContext over the full middleware stack, the connection marked pooled
as a web pod's is (one SET LOCAL per transaction); the tests count statements with the same function.
Each view is requested twice first, so its caches are warm, as most requests find them.
"""
import logging
from contextlib import contextmanager

from bench.table import Row, at_most
from bench.webstack import OWNER_EMAIL, TENANT_HOST, Stack
from testkit.statements import kinds as statement_kinds
from testkit.statements import pooled_capture

TARGET = 5
BOOKKEEPING = {"BEGIN", "COMMIT", "SET LOCAL"}  # the per-request transaction that keeps tenants apart


def views(stack: Stack) -> list[tuple[str, str, dict]]:
    from tenantry.projects.models import Project

    with tenant_schema(stack):
        project = Project.objects.order_by("pk").first()
    return [("landing", "/", {}), ("login page", "/accounts/login/", {}), ("dashboard", "/dashboard/", {}),
            ("analytics", "/dashboard/analytics/", {}), ("project list", "/projects/", {}),
            ("project detail", f"/projects/{project.pk}/", {}), ("billing", "/billing/", {}),
            ("api me", "/api/v1/me/", {"token": True}), ("api project list", "/api/v1/projects/", {"token": True}),
            ("api project detail", f"/api/v1/projects/{project.pk}/", {"token": True})]


@contextmanager
def tenant_schema(stack: Stack):
    from django_tenants.utils import tenant_context

    from tenantry.tenancy.models import Tenant

    with tenant_context(Tenant.objects.get(pk=stack.tenant_id)):
        yield


def count(stack: Stack) -> list[tuple[str, list[str]]]:
    """(view, statement kinds) for each main view, as the owner (by session, or by token for the API)."""
    from django.test import Client
    from rest_framework.authtoken.models import Token

    from tenantry.accounts.models import User

    owner = User.objects.get(email=OWNER_EMAIL)
    token, _ = Token.objects.get_or_create(user=owner)
    browser = Client(HTTP_HOST=TENANT_HOST)
    with tenant_schema(stack):  # sessions are cached under the tenant's schema
        browser.force_login(owner, backend="tenantry.accounts.backends.TenantMembershipBackend")
    api = Client(HTTP_HOST=TENANT_HOST, HTTP_AUTHORIZATION=f"Token {token.key}")
    counted = []
    logging.disable(logging.INFO)  # the app's per-request log lines would flood the benchmark's output
    try:
        for name, path, options in views(stack):
            client = api if options.get("token") else browser
            for _ in range(2):
                client.get(path)
            with pooled_capture() as captured:
                response = client.get(path)
            if response.status_code != 200:
                raise RuntimeError(f"{name} ({path}) answered {response.status_code}")
            counted.append((name, statement_kinds(captured)))
    finally:
        logging.disable(logging.NOTSET)
    return counted


def rows(counted: list[tuple[str, list[str]]]) -> list[Row]:
    out = []
    for name, kinds in counted:
        data = [k for k in kinds if k not in BOOKKEEPING]
        out.append(Row(f"4. queries per request: {name}", f"{len(data)} ({len(kinds)} statements with "
                       f"{', '.join(sorted(set(kinds) & BOOKKEEPING)) or 'no transaction'})",
                       f"<= {TARGET}", at_most(len(data), TARGET)))
    return out


HOW = ("Django test client in the benchmark process, full middleware, owner logged in (API: token), each view "
       "requested twice before the counted third request; CaptureQueriesContext with the connection marked "
       "pooled. 'queries' leaves out BEGIN, SET LOCAL search_path and COMMIT, the per-request transaction "
       "that keeps tenants apart behind PgBouncer; the statement count includes them.")
