"""URLs served at a tenant's host. The platform's own host uses `urls_public`."""
from django.urls import include, path

from tenantry.core import views

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/", include("tenantry.accounts.urls")),
    path("projects/", include("tenantry.projects.urls")),
    path("dashboard/", include("tenantry.dashboard.urls")),
    path("billing/", include("tenantry.billing.urls")),
    path("api/", include("tenantry.api.urls")),
]
