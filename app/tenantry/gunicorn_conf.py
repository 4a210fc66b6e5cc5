"""gunicorn settings, the same for the container image and the local platform.

Read from the environment so the chart and `make up` differ only in values, never in code.
"""
import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "10"))
# Recycle workers now and then so a slow leak cannot grow without bound; jitter avoids a herd.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "5000"))
max_requests_jitter = max_requests // 10
accesslog = "-"
# More than one thread per worker selects gunicorn's gthread worker: each thread keeps its own
# database connection, which is how a pod puts many clients on PgBouncer.
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
