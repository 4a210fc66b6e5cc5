"""/metrics for a web pod, served by gunicorn's master on its own port.

The master outlives every worker, so one scrape sees all of them: the live workers' files, the archive
of dead ones (worker_files) and the business gauges. The port is separate from the app's so that it
is never reachable through the tenant router or the ingress, which only know the app's port.
"""
from pathlib import Path

import django
from prometheus_client import CollectorRegistry, start_http_server

from tenantry.observability.worker_files import ArchivingCollector


def registry_for(directory: str | Path) -> CollectorRegistry:
    from tenantry.observability.business import BusinessCollector  # needs Django's apps loaded

    registry = CollectorRegistry(auto_describe=False)
    registry.register(ArchivingCollector(directory))
    registry.register(BusinessCollector())
    return registry


def start(port: int, addr: str, directory: str | Path) -> None:
    """Serve in a daemon thread of the calling process (gunicorn's master, from when_ready)."""
    django.setup()
    start_http_server(port, addr=addr, registry=registry_for(directory))
