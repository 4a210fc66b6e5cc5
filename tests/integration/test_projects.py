"""Project pages through the full middleware stack at a tenant's host (Django's test client)."""
import re

import pytest
from django_tenants.utils import tenant_context

from harness import add_projects
from tenantry.projects.models import Project
from tenantry.projects.services import create_project
from testkit.statements import kinds, pooled_capture

# Changing projects needs a live subscription: these tenants are on the free plan.
pytestmark = [pytest.mark.integration, pytest.mark.tenant_plan("free")]

HOSTILE = """<script>alert("x")</script>' OR 1=1; -- & "quoted\""""


def in_schema(t, **filters) -> list[Project]:
    with tenant_context(t.tenant):
        return list(Project.objects.filter(**filters).order_by("id"))


def rows(page: str) -> list[str]:
    return re.findall(r'<tr data-testid="project-row">\s*<td><a href="[^"]+">([^<]*)</a>', page)


def test_anonymous_visitors_are_sent_to_login(tenant):
    client = tenant.client()
    for path in ["/projects/", "/projects/new/", "/projects/1/", "/projects/1/edit/", "/projects/1/delete/"]:
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/?next=")


def test_create_makes_the_user_the_owner_and_shows_the_project(tenant):
    client, user = tenant.logged_in_client()
    response = client.post("/projects/new/", {"name": "Apollo", "description": "To the moon", "status": "on_hold"})
    [project] = in_schema(tenant)
    assert response.status_code == 302 and response["Location"] == f"/projects/{project.pk}/"
    assert (project.name, project.description, project.status, project.owner_id) == \
        ("Apollo", "To the moon", "on_hold", user.pk)

    page = client.get(response["Location"]).content.decode()
    assert "Project “Apollo” was created." in page
    assert '<h1 data-testid="project-name">Apollo</h1>' in page and "On Hold" in page and user.email in page


@pytest.mark.parametrize("data, field, message", [
    ({"name": "", "status": "active"}, "name", "This field is required."),
    ({"name": "   ", "status": "active"}, "name", "This field is required."),
    ({"name": "x" * 201, "status": "active"}, "name", "Ensure this value has at most 200 characters (it has 201)."),
    ({"name": "ok", "description": "d" * 5001, "status": "active"}, "description", "at most 5000 characters"),
    ({"name": "ok", "status": "archived"}, "status",
     "Select a valid choice. archived is not one of the available choices."),
])
def test_invalid_input_rerenders_with_the_error_and_changes_nothing(tenant, data, field, message):
    client, _ = tenant.logged_in_client()
    response = client.post("/projects/new/", data)
    assert response.status_code == 200
    assert message in response.context["form"].errors[field][0]
    assert 'class="errorlist' in response.content.decode()
    assert in_schema(tenant) == []


def test_hostile_strings_are_stored_verbatim_and_shown_escaped(tenant):
    client, _ = tenant.logged_in_client()
    client.post("/projects/new/", {"name": HOSTILE, "description": HOSTILE, "status": "active"})
    [project] = in_schema(tenant)
    assert project.name == HOSTILE and project.description == HOSTILE

    escaped = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&#x27; OR 1=1; -- &amp; &quot;quoted&quot;"
    for path in ["/projects/", f"/projects/{project.pk}/", f"/projects/{project.pk}/edit/",
                 f"/projects/{project.pk}/delete/", "/dashboard/"]:
        page = client.get(path).content.decode()
        assert escaped in page, path
        assert '<script>alert("x")' not in page, path


def test_update_saves_valid_changes_and_refuses_invalid_ones(tenant):
    client, user = tenant.logged_in_client()
    [project] = add_projects(tenant, user, 1, description="first")

    response = client.post(f"/projects/{project.pk}/edit/", {"name": "", "description": "changed", "status": "done"})
    assert response.status_code == 200 and "This field is required." in response.content.decode()
    [unchanged] = in_schema(tenant)
    assert (unchanged.name, unchanged.description, unchanged.status) == (project.name, "first", "active")

    response = client.post(f"/projects/{project.pk}/edit/", {"name": "Renamed", "description": "", "status": "done"})
    assert response.status_code == 302 and response["Location"] == f"/projects/{project.pk}/"
    [saved] = in_schema(tenant)
    assert (saved.name, saved.description, saved.status, saved.owner_id) == ("Renamed", "", "done", user.pk)
    assert saved.updated_at > project.updated_at


def test_delete_asks_for_confirmation_and_deletes_on_post_only(tenant):
    client, user = tenant.logged_in_client()
    doomed, kept = add_projects(tenant, user, 2)

    page = client.get(f"/projects/{doomed.pk}/delete/").content.decode()
    assert "This cannot be undone." in page and f"“<strong>{doomed.name}</strong>”" in page
    assert len(in_schema(tenant)) == 2

    response = client.post(f"/projects/{doomed.pk}/delete/")
    assert response.status_code == 302 and response["Location"] == "/projects/"
    assert [p.pk for p in in_schema(tenant)] == [kept.pk]
    assert f"Project “{doomed.name}” was deleted." in client.get("/projects/").content.decode()
    assert client.get(f"/projects/{doomed.pk}/").status_code == 404


def test_list_pages_by_twenty_newest_first(tenant):
    client, user = tenant.logged_in_client()
    add_projects(tenant, user, 45)

    first = client.get("/projects/").content.decode()
    assert rows(first) == [f"Project {n:02d}" for n in range(44, 24, -1)]
    assert "Page 1 of 3 (45 projects)" in first and 'href="?page=2" rel="next"' in first

    last = client.get("/projects/?page=3").content.decode()
    assert rows(last) == [f"Project {n:02d}" for n in range(4, -1, -1)]
    assert 'rel="next"' not in last and 'href="?page=2" rel="prev"' in last
    # Out-of-range and malformed page numbers fall back to the last and the first page.
    assert rows(client.get("/projects/?page=99").content.decode()) == rows(last)
    assert rows(client.get("/projects/?page=abc").content.decode()) == rows(first)


def test_search_and_status_filter_narrow_the_list_and_keep_across_pages(tenant):
    client, user = tenant.logged_in_client()
    add_projects(tenant, user, 25, prefix="Rocket")
    add_projects(tenant, user, 3, prefix="Garden", status="done")
    with tenant_context(tenant.tenant):
        create_project(owner=user, name="Shed", description="a small ROCKET stove")

    page = client.get("/projects/?q=rocket").content.decode()
    assert "Page 1 of 2 (26 projects)" in page
    assert 'href="?q=rocket&amp;page=2" rel="next"' in page
    assert "Shed" in rows(page)  # matched on its description, case-insensitively

    assert rows(client.get("/projects/?status=done").content.decode()) == ["Garden 02", "Garden 01", "Garden 00"]
    assert rows(client.get("/projects/?q=garden+01&status=done").content.decode()) == ["Garden 01"]
    assert "No project matches these filters." in client.get("/projects/?q=nothing-like-this").content.decode()

    invalid = client.get("/projects/?status=archived")
    assert "Select a valid choice." in invalid.content.decode()
    assert invalid.context["page"].paginator.count == 29  # the bad filter is reported and ignored


def test_another_tenants_project_id_is_a_404_and_changes_nothing_there(tenant, other_tenant):
    client, user = tenant.logged_in_client()
    [own] = add_projects(tenant, user, 1)
    owner_b = other_tenant.user()
    theirs = add_projects(other_tenant, owner_b, 3, prefix="Secret")[-1]
    assert theirs.pk not in {p.pk for p in in_schema(tenant)}
    before = [(p.pk, p.name, p.status, p.updated_at) for p in in_schema(other_tenant)]

    for path in ["", "edit/", "delete/"]:
        assert client.get(f"/projects/{theirs.pk}/{path}").status_code == 404
    assert client.post(f"/projects/{theirs.pk}/edit/", {"name": "Hijacked", "status": "done"}).status_code == 404
    assert client.post(f"/projects/{theirs.pk}/delete/").status_code == 404

    assert [(p.pk, p.name, p.status, p.updated_at) for p in in_schema(other_tenant)] == before
    assert "Secret" not in client.get("/projects/").content.decode()
    assert client.get(f"/projects/{own.pk}/").status_code == 200


def test_a_row_shows_link_status_owner_and_day_on_the_list_and_the_dashboard(tenant):
    client, user = tenant.logged_in_client()
    with tenant_context(tenant.tenant):
        project = create_project(owner=user, name="Kiln <3", status=Project.Status.ON_HOLD)
    expected = (f'<td><a href="/projects/{project.pk}/">Kiln &lt;3</a></td>\n'
                '  <td><span class="status status-on_hold">On Hold</span></td>\n'
                f'  <td>{user.email}</td>\n  <td>{project.created_at:%Y-%m-%d}</td>')
    assert expected in client.get("/projects/").content.decode()
    assert expected in client.get("/dashboard/").content.decode()


def test_list_and_detail_run_a_bounded_number_of_queries(tenant):
    client, user = tenant.logged_in_client()
    others = [tenant.user() for _ in range(3)]
    projects = [p for owner in [user, *others] for p in add_projects(tenant, owner, 8)]
    client.get("/projects/")  # warms the platform-wide settings and identity caches that every page reads

    with pooled_capture() as list_request:
        response = client.get("/projects/?page=2")
    assert response.status_code == 200 and len(rows(response.content.decode())) == 12
    # BEGIN, SET LOCAL search_path, COUNT(*) for the paginator, one page of projects joined to their
    # owners, COMMIT (the session's user comes from the identity cache). The same with 12 rows as with
    # 1: no N+1 on owners.
    assert kinds(list_request) == ["BEGIN", "SET LOCAL", "SELECT", "SELECT", "COMMIT"], \
        list_request.captured_queries
    assert "COUNT(*)" in list_request.captured_queries[2]["sql"]

    with pooled_capture() as detail_request:
        response = client.get(f"/projects/{projects[-1].pk}/")
    assert response.status_code == 200
    # BEGIN, SET LOCAL search_path, the project joined to its owner, COMMIT.
    assert kinds(detail_request) == ["BEGIN", "SET LOCAL", "SELECT", "COMMIT"], \
        detail_request.captured_queries
    assert 'INNER JOIN "accounts_user"' in detail_request.captured_queries[2]["sql"]
