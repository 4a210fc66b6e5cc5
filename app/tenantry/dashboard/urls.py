from django.urls import path

from tenantry.core.placeholder import placeholder

app_name = "dashboard"
urlpatterns = [
    path("", placeholder, name="home"),
    path("analytics/", placeholder, name="analytics"),
    path("export.csv", placeholder, name="export"),
]
