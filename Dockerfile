# One image for the web app and the operator; the chart picks the command.
# `make cluster` builds it as it is with buildah (no daemon), from base images made locally under the
# names below (docs/cluster.md); `make up` runs exactly its commands as processes.
FROM node:20-bookworm-slim AS frontend
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM python:3.11-slim-bookworm AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY app ./app
COPY operator ./operator
RUN pip install --no-cache-dir --prefix=/install .

FROM python:3.11-slim-bookworm
# pg_dump and pg_restore for the per-tenant backups (the CronJobs' Jobs, the operator's final backup
# of a Delete policy, restores). Debian bookworm's client is PostgreSQL 15's, and pg_dump refuses a
# server newer than itself (docs/backups.md says what to do for a newer server). The major is pinned
# by the package's name; the exact version is left to Debian's security updates, which replace it.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends postgresql-client-15 \
    && rm -rf /var/lib/apt/lists/*
RUN useradd --uid 10001 --no-create-home --shell /usr/sbin/nologin tenantry
COPY --from=build /install /usr/local
COPY --from=frontend /src/node_modules /opt/tenantry/node_modules
ENV DJANGO_SETTINGS_MODULE=tenantry.settings \
    TENANTRY_NODE_MODULES=/opt/tenantry/node_modules \
    DJANGO_STATIC_ROOT=/opt/tenantry/static \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
# collectstatic needs settings to import, not a database: placeholders stand in for the secrets.
RUN DJANGO_SECRET_KEY=build DATABASE_URL=postgresql://build@localhost/build REDIS_URL=redis://localhost \
    python -m django collectstatic --noinput --verbosity 0
USER 10001
# gunicorn's master also serves /metrics on TENANTRY_WEB_METRICS_PORT (the chart sets it; 9100) from
# prometheus-client files under /tmp (tenantry.gunicorn_conf sets PROMETHEUS_MULTIPROC_DIR then). It is
# not set here: the operator shares this image and keeps its single-process metrics.
EXPOSE 8000
CMD ["gunicorn", "-c", "python:tenantry.gunicorn_conf", "tenantry.wsgi"]
