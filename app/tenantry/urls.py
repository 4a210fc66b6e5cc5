from django.urls import path

from tenantry.core import views

urlpatterns = [
    path("", views.home, name="home"),
]
