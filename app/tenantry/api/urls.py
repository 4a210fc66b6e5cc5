"""The API at a tenant's host, under /api/: each version in its own URL namespace (DRF's
NamespaceVersioning reads request.version from it), the OpenAPI document beside them."""
from django.urls import include, path, re_path

from tenantry.api import views

v1 = [
    path("", views.ApiRootView.as_view(), name="root"),
    path("auth/token/", views.TokenView.as_view(), name="token"),
    path("me/", views.MeView.as_view(), name="me"),
    path("projects/", views.ProjectListView.as_view(), name="project-list"),
    path("projects/<int:pk>/", views.ProjectDetailView.as_view(), name="project-detail"),
]

urlpatterns = [
    path("v1/", include((v1, "v1"))),
    # Only for reverse("api-root") in links; requests to /api/v1/ resolve to v1:root above.
    path("v1/", views.ApiRootView.as_view(), name="api-root"),
    path("schema/", views.SchemaView.as_view(), name="api-schema"),
    # Any characters, line breaks too ("." would leave a path with %0A to Django's HTML 404).
    re_path(r"^(?:[\s\S]*/)?$", views.UnknownEndpointView.as_view()),
]
