"""Test harness: real services, started through the same code as `make up`, never skipped.

Each run gets its own PostgreSQL database, cache prefix and Kubernetes namespace, so it can run beside
a `make up` platform without touching its data. Django in this process is configured at import time
for that database the way the operator uses it (a direct connection, since provisioning needs a
session); the request path is tested through this run's gunicorn, which goes through PgBouncer.
Nothing connects until a test asks for the `database` fixture.

TENANTRY_TEST_START=0 makes the harness only check the services instead of starting missing ones;
either way a missing part fails the run with its name.
"""
import os
import secrets

RUN_ID = os.environ.get("TENANTRY_TEST_RUN_ID") or secrets.token_hex(4)
TEST_DB = f"tenantry_test_{RUN_ID}"

from localplatform.components import app_env  # noqa: E402

os.environ.update(app_env(TEST_DB, pooled=False))
# In this process every read sees what the test just wrote: the primary only (the replica's own tests
# read it through a gunicorn of their own).
os.environ["TENANTRY_DATABASE_REPLICA_URL"] = ""
os.environ["DJANGO_DEBUG"] = "0"

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402

# Tests serve static files through the finders (WHITENOISE_USE_FINDERS); an existing STATIC_ROOT
# only stops whitenoise warning that `make up` has not collected them yet.
settings.STATIC_ROOT.mkdir(parents=True, exist_ok=True)

from django.test.utils import setup_test_environment  # noqa: E402

setup_test_environment()  # mail to django.core.mail.outbox, template context captured

pytest_plugins = ["harness"]
