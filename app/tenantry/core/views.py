from django.db import connection
from django.shortcuts import render

from tenantry.projects.selectors import project_count


def home(request):
    if request.tenant is None:
        return render(request, "tenantry/public_home.html")
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_schema()")
        (schema,) = cursor.fetchone()
    return render(request, "tenantry/tenant_home.html",
                  {"tenant": request.tenant, "schema": schema, "projects": project_count()})
