from django.urls import path

from tenantry.dashboard import views

app_name = "dashboard"
urlpatterns = [
    path("", views.home, name="home"),
    path("analytics/", views.analytics, name="analytics"),
    path("export.csv", views.export_csv, name="export"),
]
