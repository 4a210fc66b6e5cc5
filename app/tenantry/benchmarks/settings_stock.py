"""Stock django-tenants (tenantry.settings_stock), plus the benchmark's trivial page."""
from tenantry.settings_stock import *  # noqa: F403

ROOT_URLCONF = "tenantry.benchmarks.urls"
