"""Host-header attacks and cross-tenant reuse, sent as raw bytes to this run's gunicorn (no client
library tidies them up). Each answer is a 4xx or the page of the one tenant the Host header names:
never another tenant's data, never a 500. test_request_path.py covers malformed hosts of the
in-process kind; test_api.py and test_accounts.py the same isolation rules in process."""
import socket

import pytest
from django_tenants.utils import tenant_context
from rest_framework.authtoken.models import Token

from harness import new_tenant
from localplatform import config
from tenantry.projects.services import create_project

pytestmark = pytest.mark.integration


def raw(port: int, request: bytes) -> tuple[int, bytes]:
    """Send `request` as is; (status, whole response)."""
    with socket.create_connection((config.HOST, port), timeout=10) as sock:
        sock.sendall(request)
        response = b""
        while chunk := sock.recv(65536):
            response += chunk
    return int(response.split(b" ", 2)[1]), response


def get(port: int, host: bytes | None, target: bytes = b"/", extra: bytes = b"", version: bytes = b"1.1") -> bytes:
    host_line = b"Host: " + host + b"\r\n" if host is not None else b""
    return b"GET " + target + b" HTTP/" + version + b"\r\n" + host_line + extra + b"Connection: close\r\n\r\n"


@pytest.fixture(scope="module")
def pair(database):
    """Two tenants, each with a project whose name marks its data."""
    made = []
    for _ in range(2):
        t = new_tenant()
        owner = t.user()
        with tenant_context(t.tenant):
            project = create_project(owner=owner, name=f"secret-of-{t.schema}")
        made.append((t, owner, project))
    return made


def attacks(a: bytes, b: bytes, port: int) -> list[tuple[str, bytes, set[int]]]:
    """(case, raw request, acceptable statuses); 200 only where the Host header names tenant A."""
    ported = a + b":" + str(port).encode()
    return [
        ("overlong host", get(port, b"a" * 300 + b"." + a), {400, 404}),
        ("host beyond gunicorn's header limit", get(port, b"a" * 9000), {400, 431}),
        ("full-width unicode host", get(port, "ａ".encode() + a[1:]), {400}),
        ("punycode of a look-alike", get(port, b"xn--" + a), {400, 404}),
        ("latin-1 bytes", get(port, a + b"\xe9"), {400}),
        ("null byte in the host", get(port, a + b"\x00." + b), {400}),
        ("null byte in the path", get(port, ported, b"/\x00"), {400}),
        # The port never selects a tenant (it is dropped before the lookup), so A may answer.
        ("port beyond 65535", get(port, a + b":99999999"), {200, 400}),
        ("port that is not a number", get(port, a + b":http"), {400}),
        ("two ports", get(port, ported + b":1"), {400}),
        ("userinfo naming B", get(port, b + b"@" + a), {400}),
        ("wildcard host", get(port, b"*." + a), {400}),
        ("duplicate Host, A then B", get(port, a, extra=b"Host: " + b + b"\r\n"), {400}),
        ("X-Forwarded-Host of B", get(port, ported, extra=b"X-Forwarded-Host: " + b + b"\r\n"), {200}),
        ("X-Forwarded-Host of B, unknown Host", get(port, b"nobody.test.localhost", extra=b"X-Forwarded-Host: " + b
                                                    + b"\r\n"), {404}),
        ("X-Original-Host and Forwarded of B", get(port, ported, extra=b"X-Original-Host: " + b + b"\r\nForwarded: "
                                                   b"host=" + b + b"\r\n"), {200}),
        ("absolute URI of B, Host A", get(port, ported, b"http://" + b + b"/"), {400}),
        ("absolute URI of A, Host A", get(port, ported, b"http://" + ported + b"/"), {200}),
        ("absolute URI, broken IPv6", get(port, ported, b"http://[::1/"), {400}),
        ("no Host at all (HTTP/1.1)", get(port, None), {400, 404}),
        ("no Host at all (HTTP/1.0)", get(port, None, version=b"1.0"), {400, 404}),
        ("trailing dot and upper case", get(port, a.upper() + b"."), {200}),
        ("CR smuggled into the host", get(port, a + b"\r" + b), {400}),
        ("tab inside the host", get(port, a + b"\t" + b), {400}),
    ]


def test_host_header_attacks_get_4xx_or_the_named_tenant_never_another(web_app, pair):
    (a, _, project_a), (b, _, project_b) = pair
    wrong = []
    for case, request, allowed in attacks(a.host.encode(), b.host.encode(), web_app.web_port):
        status, response = raw(web_app.web_port, request)
        leaked = b.schema.encode() in response or project_b.name.encode() in response
        foreign_page = status == 200 and f'data-testid="schema">{a.schema}<'.encode() not in response
        if status not in allowed or leaked or foreign_page or b"Traceback" in response:
            wrong.append((case, status, response[:200]))
    assert wrong == []


def test_a_session_of_tenant_a_is_anonymous_at_b_through_gunicorn(web_app, pair):
    (a, _, project_a), (b, _, project_b) = pair
    browser, _ = a.logged_in_client()
    cookie = f"sessionid={browser.cookies['sessionid'].value}".encode()
    port = web_app.web_port
    at_a, at_b = (f"{t.host}:{port}".encode() for t in (a, b))

    status, page = raw(port, get(port, at_a, f"/projects/{project_a.pk}/".encode(), b"Cookie: " + cookie + b"\r\n"))
    assert status == 200 and project_a.name.encode() in page  # the cookie is good where it was issued
    for path in ["/projects/", f"/projects/{project_b.pk}/", "/dashboard/", "/api/v1/me/"]:
        status, response = raw(port, get(port, at_b, path.encode(), b"Cookie: " + cookie + b"\r\n"))
        assert status in (302, 401, 403), (path, status)
        assert project_b.name.encode() not in response and project_a.name.encode() not in response, path


def test_guessed_project_ids_of_another_tenant_are_404s_through_gunicorn(web_app, pair):
    (a, owner_a, project_a), (b, owner_b, project_b) = pair
    token_b = Token.objects.get_or_create(user=owner_b)[0].key
    port = web_app.web_port
    auth = f"Authorization: Token {token_b}\r\n".encode()
    guesses = {project_a.pk, project_a.pk + 1, project_a.pk - 1, 0, 2 ** 31, 2 ** 63} - {project_b.pk}
    for pk in sorted(guesses):
        status, response = raw(port, get(port, f"{b.host}:{port}".encode(), f"/api/v1/projects/{pk}/".encode(), auth))
        assert status == 404 and project_a.name.encode() not in response, (pk, status)
    status, response = raw(port, get(port, f"{b.host}:{port}".encode(), f"/api/v1/projects/{project_b.pk}/".encode(),
                                     auth))
    assert status == 200 and project_b.name.encode() in response
    status, response = raw(port, get(port, f"{a.host}:{port}".encode(), b"/api/v1/projects/", auth))
    assert status == 403 and project_a.name.encode() not in response  # B's token means nothing at A
