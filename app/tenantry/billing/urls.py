from django.urls import path

from tenantry.billing import views

app_name = "billing"
urlpatterns = [
    path("", views.overview, name="overview"),
    path("subscribe/<slug:plan>/", views.subscribe, name="subscribe"),
]
