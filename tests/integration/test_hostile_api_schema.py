"""schemathesis against the API's own OpenAPI document, through this run's gunicorn and PgBouncer,
at a tenant's host with a member's token: whatever it generates, the API never answers 5xx.

Bounded (max_examples per operation) so the whole file runs in well under a minute.
"""
import http.client
import json

import pytest
import schemathesis
from django_tenants.utils import tenant_context
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode

from harness import new_tenant
from localplatform import config
from tenantry.projects.services import create_project

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def api_target(web_app) -> dict:
    """A tenant with a few projects (so generated ids sometimes exist) and its member's token."""
    t = new_tenant(plan="free")
    member = t.user("admin")
    with tenant_context(t.tenant):
        for n in range(3):
            create_project(owner=member, name=f"seed {n}")
    headers = {"Host": f"{t.host}:{web_app.web_port}", "Authorization": f"Token {Token.objects.create(user=member)}"}
    return {"base_url": f"http://{config.HOST}:{web_app.web_port}", "headers": headers}


def api_document(api_target) -> schemathesis.schemas.BaseSchema:
    conn = http.client.HTTPConnection(config.HOST, int(api_target["base_url"].rsplit(":", 1)[1]), timeout=10)
    conn.request("GET", "/api/schema/?format=json", headers=api_target["headers"])
    response = conn.getresponse()
    assert response.status == 200, "the OpenAPI document is not served at /api/schema/"
    return schemathesis.openapi.from_dict(json.loads(response.read()))


# (schemathesis' own pytest plugin does not run under pytest 9, so each operation gets a plain
# hypothesis test over schemathesis' strategies: valid requests and ones that break the schema.)
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["valid", "invalid"])
def test_no_generated_request_gets_a_5xx(api_target, mode):
    operations = [result.ok() for result in api_document(api_target).get_all_operations()]
    assert len(operations) >= 7, [op.label for op in operations]
    sent: dict[str, int] = {}
    statuses: set[int] = set()

    def never_5xx(case):
        response = case.call_and_validate(base_url=api_target["base_url"], headers=api_target["headers"],
                                          checks=[not_a_server_error])
        sent[case.operation.label] = sent.get(case.operation.label, 0) + 1
        statuses.add(response.status_code)

    for operation in operations:
        run = settings(max_examples=15, deadline=None, database=None,
                       suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])(
            given(case=operation.as_strategy(generation_mode=mode))(never_5xx))
        try:
            run()
        except Unsatisfiable:
            # An operation without parameters or body (GET /me/) has nothing to make invalid.
            assert mode is GenerationMode.NEGATIVE, operation.label
    assert sum(sent.values()) >= 5 * len(operations), sent
    assert {"POST /api/v1/projects/", "PATCH /api/v1/projects/{id}/"} <= set(sent), sent
    # The requests reached the tenant's API as its member: valid ones succeeded, invalid ones were refused.
    assert (200 if mode is GenerationMode.POSITIVE else 400) in statuses, statuses
