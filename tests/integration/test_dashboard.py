"""Dashboard KPIs, analytics and CSV export at a tenant's host, over the real cache and database."""
import csv
import io
import json
import re
import time
from datetime import date, timedelta

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import tenant_context

from harness import add_projects
from tenantry.accounts.services import ensure_member
from tenantry.dashboard.export import EXPORT_ROW_LIMIT, neutralise
from tenantry.dashboard.series import week_start, zero_filled_weeks
from tenantry.projects.models import Project
from tenantry.projects.services import create_project, update_project
from testkit.statements import kind, pooled_capture

# Changing projects needs a live subscription: these tenants are on the free plan.
pytestmark = [pytest.mark.integration, pytest.mark.tenant_plan("free")]


def kpis(page: str) -> dict[str, int]:
    return {name: int(value) for name, value in re.findall(r'data-testid="kpi-(\w+)">(\d+)<', page)}


def recent_names(page: str) -> list[str]:
    return re.findall(r'<tr data-testid="recent-project">\s*<td><a href="[^"]+">([^<]*)</a>', page)


def total(client) -> int:
    return kpis(client.get("/dashboard/").content.decode())["total"]


def aggregates(captured) -> list[str]:
    """The counting queries on projects: what the KPI and chart caches are there to avoid."""
    return [q["sql"] for q in captured.captured_queries
            if 'FROM "projects_project"' in q["sql"] and "COUNT(" in q["sql"]]


def backdate(t, project: Project, days: int) -> None:
    """Test set-up only: created_at is auto_now_add, so move it with an UPDATE."""
    with tenant_context(t.tenant):
        Project.objects.filter(pk=project.pk).update(created_at=timezone.now() - timedelta(days=days))


def chart_data(page: str) -> dict:
    found = re.search(r'<script id="analytics-data" type="application/json">(.*?)</script>', page, re.S)
    return json.loads(found.group(1))


def test_dashboard_pages_need_a_login(tenant):
    for path in ["/dashboard/", "/dashboard/analytics/", "/dashboard/export.csv"]:
        response = tenant.client().get(path)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/?next=")


def test_kpis_count_the_tenants_projects_and_the_users_own(tenant, other_tenant):
    client, me = tenant.logged_in_client()
    colleague = tenant.user()
    add_projects(tenant, me, 3)
    add_projects(tenant, colleague, 2, prefix="Done", status="done")
    [old] = add_projects(tenant, colleague, 1, prefix="Old", status="on_hold")
    backdate(tenant, old, days=40)
    add_projects(other_tenant, other_tenant.user(), 7)

    page = client.get("/dashboard/").content.decode()
    assert kpis(page) == {"total": 6, "active": 3, "done": 2, "recent": 5, "mine": 3}
    colleague_client = tenant.client()
    with tenant_context(tenant.tenant):
        colleague_client.force_login(colleague, backend="tenantry.accounts.backends.TenantMembershipBackend")
    assert kpis(colleague_client.get("/dashboard/").content.decode())["mine"] == 3
    other_client, _ = other_tenant.logged_in_client()
    assert kpis(other_client.get("/dashboard/").content.decode()) == \
        {"total": 7, "active": 7, "done": 0, "recent": 7, "mine": 0}
    # The five newest, with their owners.
    assert recent_names(page) == ["Done 01", "Done 00", "Project 02", "Project 01", "Project 00"]


def test_a_warm_dashboard_sends_no_sql_of_its_own(tenant):
    client, me = tenant.logged_in_client()
    add_projects(tenant, me, 8)
    with CaptureQueriesContext(connection) as cold:
        client.get("/dashboard/")
    assert len(aggregates(cold)) == 2  # the tenant's four KPIs in one query, and "Mine"

    with pooled_capture() as warm:
        response = client.get("/dashboard/")
    page = response.content.decode()
    assert kpis(page)["total"] == 8 and len(recent_names(page)) == 5
    # The KPIs and the recent projects come from the cache, and so do the announcement setting and
    # the session's user (platform cache): no SQL is left but the transaction's own.
    assert [q["sql"] for q in warm.captured_queries
            if kind(q["sql"]) not in ("BEGIN", "SET LOCAL", "COMMIT")] == []


def test_any_project_change_through_the_app_refreshes_the_kpis(tenant):
    client, me = tenant.logged_in_client()
    [project] = add_projects(tenant, me, 1)
    assert kpis(client.get("/dashboard/").content.decode())["total"] == 1

    client.post("/projects/new/", {"name": "Second", "status": "active"})
    with CaptureQueriesContext(connection) as after_create:
        page = client.get("/dashboard/").content.decode()
    assert len(aggregates(after_create)) == 2  # the tenant's figures and the writer's own count
    assert kpis(page) == {"total": 2, "active": 2, "done": 0, "recent": 2, "mine": 2}

    client.post(f"/projects/{project.pk}/edit/", {"name": project.name, "status": "done"})
    assert kpis(client.get("/dashboard/").content.decode())["done"] == 1

    client.post(f"/projects/{project.pk}/delete/")
    assert kpis(client.get("/dashboard/").content.decode()) == \
        {"total": 1, "active": 1, "done": 0, "recent": 1, "mine": 1}


def test_a_writer_sees_their_change_at_once_and_a_colleague_the_older_figures_inside_the_window(tenant):
    writer, me = tenant.logged_in_client()
    colleague, _ = tenant.logged_in_client()
    add_projects(tenant, me, 1)
    with override_settings(TENANTRY_FIGURES_FRESH_SECONDS=60):
        assert total(colleague) == 1

        writer.post("/projects/new/", {"name": "Mine now", "status": "active"})
        assert total(colleague) == 1  # an entry of the version before the write, seconds old
        page = writer.get("/dashboard/").content.decode()
        assert kpis(page)["total"] == 2 and recent_names(page)[0] == "Mine now"
        assert total(colleague) == 2  # the writer's figures are the current version's


def test_a_colleague_sees_a_change_once_the_window_has_passed(tenant):
    writer, me = tenant.logged_in_client()
    colleague, _ = tenant.logged_in_client()
    with override_settings(TENANTRY_FIGURES_FRESH_SECONDS=1):
        assert total(colleague) == 0
        writer.post("/projects/new/", {"name": "Seen later", "status": "active"})
        time.sleep(1.2)
        assert total(colleague) == 1


def test_an_entry_of_an_older_version_outside_the_window_is_never_served(tenant):
    client, _ = tenant.logged_in_client()
    with override_settings(TENANTRY_FIGURES_FRESH_SECONDS=0):
        for expected in range(4):
            assert total(client) == expected
            add_projects(tenant, tenant.user(), 1, prefix=f"By a colleague {expected}")


def test_a_colleague_deleting_or_reassigning_your_project_updates_mine_at_once(tenant):
    client, me = tenant.logged_in_client()
    colleague, other = tenant.logged_in_client()
    first, second = add_projects(tenant, me, 2)
    assert kpis(client.get("/dashboard/").content.decode())["mine"] == 2

    assert kpis(colleague.get("/dashboard/").content.decode())["mine"] == 0

    colleague.post(f"/projects/{first.pk}/delete/")
    assert kpis(client.get("/dashboard/").content.decode())["mine"] == 1

    with tenant_context(tenant.tenant):
        update_project(second, owner=other)
    assert kpis(client.get("/dashboard/").content.decode())["mine"] == 0  # the old owner's
    assert kpis(colleague.get("/dashboard/").content.decode())["mine"] == 1  # and the new one's


def test_two_tenants_never_share_entries(tenant, other_tenant):
    client_a, me = tenant.logged_in_client()
    ensure_member(me.email, other_tenant.tenant.id)
    client_b = other_tenant.client()
    with tenant_context(other_tenant.tenant):
        client_b.force_login(me, backend="tenantry.accounts.backends.TenantMembershipBackend")
    add_projects(tenant, me, 2, prefix="In A")
    add_projects(other_tenant, me, 3, prefix="In B", status="done")

    for _ in range(2):  # cold, then warm
        page_a, page_b = client_a.get("/dashboard/").content.decode(), client_b.get("/dashboard/").content.decode()
        assert kpis(page_a) == {"total": 2, "active": 2, "done": 0, "recent": 2, "mine": 2}
        assert kpis(page_b) == {"total": 3, "active": 0, "done": 3, "recent": 3, "mine": 3}
        assert recent_names(page_a) == ["In A 01", "In A 00"]
        assert recent_names(page_b) == ["In B 02", "In B 01", "In B 00"]


def test_analytics_embeds_zero_filled_weekly_and_status_data_and_loads_chart_js(tenant):
    client, me = tenant.logged_in_client()
    this_week = add_projects(tenant, me, 2)
    three_weeks_ago, too_old = add_projects(tenant, me, 2, prefix="Old", status="done")
    backdate(tenant, three_weeks_ago, days=21)
    backdate(tenant, too_old, days=7 * 13)

    page = client.get("/dashboard/analytics/").content.decode()
    data = chart_data(page)
    today = timezone.localdate()
    assert data["weekly"]["labels"][-1] == week_start(today).isoformat()
    assert data["weekly"]["labels"][0] == (week_start(today) - timedelta(weeks=11)).isoformat()
    assert data["weekly"]["counts"] == [0] * 8 + [1, 0, 0, len(this_week)]
    assert data["by_status"] == {"labels": ["Active", "On Hold", "Done"], "counts": [2, 0, 2]}
    # Chart.js and the chart script come from our own static files, after the data, never inline.
    assert '<script src="/static/vendor/chart.js/chart.umd.min.js"></script>' in page
    assert '<script src="/static/dashboard/analytics.js"></script>' in page
    assert len(re.findall(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)", page)) == 0
    assert not re.search(r'<script[^>]*src="(https?:)?//', page)  # nothing from another host


def test_analytics_data_is_cached_until_a_project_changes(tenant):
    client, me = tenant.logged_in_client()
    add_projects(tenant, me, 1)
    client.get("/dashboard/analytics/")
    with CaptureQueriesContext(connection) as warm:
        client.get("/dashboard/analytics/")
    assert aggregates(warm) == []

    client.post("/projects/new/", {"name": "Fresh", "status": "on_hold"})
    with CaptureQueriesContext(connection) as after_change:
        data = chart_data(client.get("/dashboard/analytics/").content.decode())
    assert len(aggregates(after_change)) == 2  # the weekly series and the status breakdown
    assert data["weekly"]["counts"][-1] == 2 and data["by_status"]["counts"] == [1, 1, 0]


def test_static_chart_files_are_served(tenant):
    chart = tenant.client().get("/static/vendor/chart.js/chart.umd.min.js")
    assert chart.status_code == 200
    assert chart["Content-Type"].startswith("text/javascript")
    assert b"Chart" in b"".join(chart.streaming_content)
    script = tenant.client().get("/static/dashboard/analytics.js")
    assert script.status_code == 200 and b"analytics-data" in b"".join(script.streaming_content)


def test_csv_export_lists_the_tenants_projects_as_an_attachment(tenant, other_tenant):
    client, me = tenant.logged_in_client()
    with tenant_context(tenant.tenant):
        first = create_project(owner=me, name="Plain, with comma", status="done")
        second = create_project(owner=me, name='Quote "me"\nand a new line')
    add_projects(other_tenant, other_tenant.user(), 1, prefix="Elsewhere")

    response = client.get("/dashboard/export.csv")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert re.fullmatch(r'attachment; filename="projects-\d{4}-\d{2}-\d{2}\.csv"', response["Content-Disposition"])
    assert (response["X-Export-Row-Limit"], response["X-Export-Truncated"]) == (str(EXPORT_ROW_LIMIT), "false")
    table = list(csv.reader(io.StringIO(response.content.decode())))
    assert table == [
        ["name", "status", "owner_email", "created", "updated"],
        [second.name, "active", me.email, second.created_at.isoformat(timespec="seconds"),
         second.updated_at.isoformat(timespec="seconds")],
        [first.name, "done", me.email, first.created_at.isoformat(timespec="seconds"),
         first.updated_at.isoformat(timespec="seconds")],
    ]


def test_csv_export_neutralises_formulas(tenant):
    client, me = tenant.logged_in_client()
    names = ["=1+2", "+SUM(A1:A2)", "-2+3", "@cmd", "\t=tab", "\r=cr", "a=b", "plain"]
    with tenant_context(tenant.tenant):
        for name in names:
            Project.objects.create(owner=me, name=name)  # bypasses the form, which strips whitespace

    exported = [row[0] for row in csv.reader(io.StringIO(client.get("/dashboard/export.csv").content.decode()))][1:]
    assert exported == ["plain", "a=b", "'\r=cr", "'\t=tab", "'@cmd", "'-2+3", "'+SUM(A1:A2)", "'=1+2"]


def test_csv_export_is_capped_at_the_documented_limit_keeping_the_newest(tenant):
    client, me = tenant.logged_in_client()
    with tenant_context(tenant.tenant):
        Project.objects.bulk_create(Project(owner=me, name=f"Bulk {n:05d}") for n in range(EXPORT_ROW_LIMIT + 1))

    response = client.get("/dashboard/export.csv")
    table = list(csv.reader(io.StringIO(response.content.decode())))
    assert response["X-Export-Truncated"] == "true"
    assert len(table) == EXPORT_ROW_LIMIT + 1  # the header and the limit
    assert table[1][0] == f"Bulk {EXPORT_ROW_LIMIT:05d}" and table[-1][0] == "Bulk 00001"


def test_neutralise_prefixes_only_formula_starts():
    assert [neutralise(cell) for cell in ["=A1", "+1", "-1", "@x", "\tx", "\rx", "", "1-1", "x=1", "'=already"]] == \
        ["'=A1", "'+1", "'-1", "'@x", "'\tx", "'\rx", "", "1-1", "x=1", "'=already"]


def test_zero_filled_weeks_starts_on_mondays_and_fills_gaps():
    assert week_start(date(2026, 11, 29)) == date(2026, 11, 23)  # a Sunday -> its Monday
    assert week_start(date(2026, 11, 23)) == date(2026, 11, 23)
    series = zero_filled_weeks({date(2026, 11, 9): 4, date(2026, 11, 23): 1, date(2026, 10, 5): 9},
                               first_week=date(2026, 11, 2), weeks=4)
    assert series == {"labels": ["2026-11-02", "2026-11-09", "2026-11-16", "2026-11-23"], "counts": [0, 4, 0, 1]}
