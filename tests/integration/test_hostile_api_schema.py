"""schemathesis against the API's own OpenAPI document, through this run's gunicorn and PgBouncer,
at a tenant's host: whatever it generates, the API never answers 5xx, and every answer is one the
document lists, with its content type, its headers and a body of its schema. As a member, and as
callers the API refuses (no token, a bad token, a member of another tenant, a member of a tenant
nobody pays for), so the error responses are checked against the document as well.

Bounded (max_examples per operation) so the whole file runs in well under a minute.
"""
import http.client
import json

import pytest
import requests
import schemathesis
from django_tenants.utils import tenant_context
from hypothesis import HealthCheck, assume, given, settings
from hypothesis.errors import Unsatisfiable
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from harness import new_tenant
from localplatform import config
from tenantry.projects.services import create_project

pytestmark = pytest.mark.integration

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]
# gunicorn's limit_request_line: a longer request line is refused (414) before the API sees it.
REQUEST_LINE_LIMIT = 4094


@pytest.fixture(scope="module")
def api_target(web_app) -> dict:
    """A tenant with a few projects (so generated ids sometimes exist), its member's token, and the
    headers of callers the API refuses."""
    t = new_tenant(plan="free")
    member = t.user("admin")
    with tenant_context(t.tenant):
        for n in range(3):
            create_project(owner=member, name=f"seed {n}")
    host = {"Host": f"{t.host}:{web_app.web_port}"}
    unpaid = new_tenant(plan=None)
    stranger = new_tenant(plan="free").user()
    refused = {
        "anonymous": (host, 401),
        "bad token": ({**host, "Authorization": "Token " + "0" * 40}, 401),
        "stranger": ({**host, "Authorization": f"Token {Token.objects.create(user=stranger)}"}, 403),
        "unpaid": ({"Host": f"{unpaid.host}:{web_app.web_port}",
                    "Authorization": f"Token {Token.objects.create(user=unpaid.user())}"}, 402),
    }
    return {"base_url": f"http://{config.HOST}:{web_app.web_port}", "refused": refused,
            "headers": {**host, "Authorization": f"Token {Token.objects.create(user=member)}"}}


def api_operations(api_target) -> list:
    conn = http.client.HTTPConnection(config.HOST, int(api_target["base_url"].rsplit(":", 1)[1]), timeout=10)
    conn.request("GET", "/api/schema/?format=json", headers=api_target["headers"])
    response = conn.getresponse()
    assert response.status == 200, "the OpenAPI document is not served at /api/schema/"
    schema = schemathesis.openapi.from_dict(json.loads(response.read()))
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 7, [op.label for op in operations]
    return operations


def run(operations, mode: GenerationMode, base_url: str, headers: dict, max_examples: int) -> dict[str, set[int]]:
    """Each operation's generated requests, every response validated by CHECKS (a failure fails the
    test, with schemathesis' report); the statuses each operation got."""
    statuses: dict[str, set[int]] = {}

    def conforms(case):
        sent = case.as_transport_kwargs(base_url=base_url)
        path = requests.Request(sent["method"], sent["url"], params=sent.get("params")).prepare().path_url
        assume(len(f"{sent['method']} {path} HTTP/1.1") <= REQUEST_LINE_LIMIT)
        response = case.call_and_validate(base_url=base_url, headers=headers, checks=CHECKS)
        statuses.setdefault(case.operation.label, set()).add(response.status_code)

    # (schemathesis' own pytest plugin does not run under pytest 9, so each operation gets a plain
    # hypothesis test over schemathesis' strategies: valid requests and ones that break the schema.)
    for operation in operations:
        test = settings(max_examples=max_examples, deadline=None, database=None,
                        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])(
            given(case=operation.as_strategy(generation_mode=mode))(conforms))
        try:
            test()
        except Unsatisfiable:
            # An operation without parameters or body (GET /me/) has nothing to make invalid.
            assert mode is GenerationMode.NEGATIVE, operation.label
    return statuses


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["valid", "invalid"])
def test_a_members_generated_requests_get_documented_answers(api_target, mode):
    operations = api_operations(api_target)
    statuses = run(operations, mode, api_target["base_url"], api_target["headers"], max_examples=15)
    assert {"POST /api/v1/projects/", "PATCH /api/v1/projects/{id}/"} <= set(statuses), statuses
    # The requests reached the tenant's API as its member: valid ones succeeded, invalid ones were refused.
    seen = set().union(*statuses.values())
    assert (200 if mode is GenerationMode.POSITIVE else 400) in seen, statuses
    assert 404 in statuses["GET /api/v1/projects/{id}/"], statuses  # generated ids of no project
    if mode is GenerationMode.POSITIVE:  # well-formed credentials of nobody: refused, then limited
        assert statuses["POST /api/v1/auth/token/"] & {401, 429}, statuses


@pytest.mark.parametrize("caller", ["anonymous", "bad token", "stranger", "unpaid"])
def test_refused_callers_get_documented_errors(api_target, caller):
    headers, expected = api_target["refused"][caller]
    statuses = run(api_operations(api_target), GenerationMode.POSITIVE, api_target["base_url"], headers,
                   max_examples=4)
    refused = {label: codes for label, codes in statuses.items() if "/auth/token/" not in label}
    if expected == 402:  # reads stay open to the members of a lapsed tenant, writes do not
        assert all(402 in codes for label, codes in refused.items() if not label.startswith("GET")), refused
        assert all(402 not in codes for label, codes in refused.items() if label.startswith("GET")), refused
    else:
        assert all(codes == {expected} for codes in refused.values()), sorted(refused.items())
