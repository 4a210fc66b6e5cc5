"""URLs served at the platform's own host (TENANTRY_BASE_DOMAIN): the landing page and staff tools."""
from django.contrib import admin
from django.urls import path

from tenantry.core import views

urlpatterns = [
    path("", views.home, name="home"),
    path("admin/", admin.site.urls),
    path("platform/tenants/", views.tenant_overview, name="tenant-overview"),
]
