"""gunicorn settings, the same for the container image and the local platform.

Read from the environment so the chart and `make up` differ only in values, never in code.
Metrics: with TENANTRY_WEB_METRICS_PORT set, workers write prometheus-client's multiprocess files to
PROMETHEUS_MULTIPROC_DIR; the master empties it at start, folds each dead worker's files into an
archive (tenantry.observability.worker_files) and serves /metrics for all of them on that port.
"""
import os

from tenantry.observability.log_format import gunicorn_logconfig

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "10"))
# Recycle workers now and then so a slow leak cannot grow without bound; jitter avoids a herd.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "5000"))
max_requests_jitter = max_requests // 10
# No access log: the request middleware logs each request as JSON, with its request id and tenant.
logconfig_dict = gunicorn_logconfig()
logger_class = "tenantry.observability.gunicorn_logger.NoAccessLog"
# More than one thread per worker selects gunicorn's gthread worker: each thread keeps its own
# database connection, which is how a pod puts many clients on PgBouncer.
threads = int(os.environ.get("GUNICORN_THREADS", "1"))

metrics_port = os.environ.get("TENANTRY_WEB_METRICS_PORT", "")
metrics_addr = os.environ.get("TENANTRY_WEB_METRICS_ADDR", "0.0.0.0")
if metrics_port:
    # Set before anything imports prometheus_client (it picks its value store at import) and inherited by
    # the forked workers. The image's /tmp is a pod-local emptyDir in the chart; the operator, which
    # shares the image, keeps its single-process metrics because the image does not set this.
    os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", "/tmp/tenantry-prometheus")
multiproc_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")


def on_starting(server):
    if multiproc_dir:
        from tenantry.observability import worker_files

        worker_files.reset(multiproc_dir)


def when_ready(server):
    if metrics_port:
        from tenantry.observability import metrics_server

        metrics_server.start(int(metrics_port), metrics_addr, multiproc_dir)


def child_exit(server, worker):
    if multiproc_dir:
        from tenantry.observability import worker_files

        try:
            worker_files.retire_worker(multiproc_dir, worker.pid)
        except Exception:  # a metrics fault must not take the master, and so the pod, down
            server.log.exception("could not archive the metrics files of worker %s", worker.pid)
