from django.urls import path

from tenantry.core.placeholder import placeholder

app_name = "billing"
urlpatterns = [
    path("", placeholder, name="overview"),
    path("subscribe/<slug:plan>/", placeholder, name="subscribe"),
]
