from django.contrib.admin.views.decorators import staff_member_required
from django.db import connection
from django.shortcuts import render

from tenantry.db.replica import replica_reads
from tenantry.tenancy.selectors import tenant_overview_rows


def home(request):
    """A tenant's front door (or the platform's landing page): who this is, and where to sign in."""
    if request.tenant is None:
        return render(request, "tenantry/public_home.html")
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_schema()")
        (schema,) = cursor.fetchone()
    return render(request, "tenantry/tenant_home.html", {"tenant": request.tenant, "schema": schema})


@staff_member_required
@replica_reads
def tenant_overview(request):
    return render(request, "tenantry/tenant_overview.html", {"tenants": tenant_overview_rows()})
