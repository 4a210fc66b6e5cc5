# One image for the web app and the operator; the chart picks the command.
# Not built on the development machines (no container engine there): `make test` lints it, and the
# local platform runs exactly its commands (gunicorn -c python:tenantry.gunicorn_conf, kopf run).
FROM python:3.11-slim-bookworm AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY app ./app
COPY operator ./operator
RUN pip install --no-cache-dir --prefix=/install .

FROM python:3.11-slim-bookworm
RUN useradd --uid 10001 --no-create-home --shell /usr/sbin/nologin tenantry
COPY --from=build /install /usr/local
ENV DJANGO_SETTINGS_MODULE=tenantry.settings \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
USER 10001
EXPOSE 8000
CMD ["gunicorn", "-c", "python:tenantry.gunicorn_conf", "tenantry.wsgi"]
