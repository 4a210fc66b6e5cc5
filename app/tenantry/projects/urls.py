from django.urls import path

from tenantry.core.placeholder import placeholder

app_name = "projects"
urlpatterns = [
    path("", placeholder, name="list"),
    path("new/", placeholder, name="create"),
    path("<int:pk>/", placeholder, name="detail"),
    path("<int:pk>/edit/", placeholder, name="update"),
    path("<int:pk>/delete/", placeholder, name="delete"),
]
