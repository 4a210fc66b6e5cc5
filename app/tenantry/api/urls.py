from django.urls import path

from tenantry.core.placeholder import placeholder

urlpatterns = [path("v1/", placeholder, name="api-root")]
