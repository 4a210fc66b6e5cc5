"""Tenantry as deployed, plus the benchmark's trivial page."""
from tenantry.settings import *  # noqa: F403

ROOT_URLCONF = "tenantry.benchmarks.urls"
