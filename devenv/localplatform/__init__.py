"""The local platform: real PostgreSQL, PgBouncer, Redis, a Kubernetes control plane, the operator
and the web app as processes on 127.0.0.1, driven by `make up` and by the test fixtures alike.

Standard library only, so it can run before the project's virtualenv exists.
"""
