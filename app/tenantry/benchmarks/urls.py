"""The tenant URLs plus one trivial page, for every configuration the benchmark compares."""
from django.urls import include, path

from tenantry.benchmarks.views import trivial

urlpatterns = [
    path("bench/trivial/", trivial, name="bench-trivial"),
    path("", include("tenantry.urls")),
]
