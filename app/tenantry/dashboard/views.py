from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_safe

from tenantry.dashboard import export, selectors
from tenantry.dashboard.cache import home_figures
from tenantry.db.replica import replica_reads


@login_required
@require_safe
@replica_reads
def home(request):
    figures, mine = home_figures(request.session, request.user.pk, selectors.home, selectors.own_projects)
    return render(request, "dashboard/home.html", {
        "kpis": {**figures["kpis"], "mine": mine},
        "recent": figures["recent"],
        "export_limit": export.EXPORT_ROW_LIMIT,
    })


@login_required
@require_safe
@replica_reads
def analytics(request):
    charts = selectors.chart_data()
    return render(request, "dashboard/analytics.html", {
        "charts": charts,
        # The same numbers as a table, for screen readers and for browsers without JavaScript.
        "weekly_rows": zip(charts["weekly"]["labels"], charts["weekly"]["counts"], strict=True),
        "status_rows": zip(charts["by_status"]["labels"], charts["by_status"]["counts"], strict=True),
    })


@login_required
@require_safe
@replica_reads
def export_csv(request):
    """The whole file is written here, inside the request's transaction (see export.py)."""
    rows = selectors.export_rows(export.EXPORT_ROW_LIMIT)
    truncated = len(rows) > export.EXPORT_ROW_LIMIT
    response = HttpResponse(content_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="projects-{timezone.localdate():%Y-%m-%d}.csv"',
        "Cache-Control": "private, no-store",
        "X-Export-Row-Limit": str(export.EXPORT_ROW_LIMIT),
        "X-Export-Truncated": "true" if truncated else "false",
    })
    export.write_projects(response, rows[:export.EXPORT_ROW_LIMIT])
    return response
