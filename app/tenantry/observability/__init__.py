"""Metrics, request logs and Server-Timing for the web pods (Prometheus naming: docs/architecture.md, "Observability").

`log_format` and `worker_files` must not touch Django: gunicorn's config uses them in the master before
Django is set up (`metrics_server` sets it up there, in when_ready, for the business gauges).
"""
