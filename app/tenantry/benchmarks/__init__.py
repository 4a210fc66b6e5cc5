"""Baselines for `make bench` only, never deployed: a trivial page, a bare WSGI app, and settings that
serve the same pages under Tenantry, stock django-tenants and plain Django (see bench/request_path.py)."""
