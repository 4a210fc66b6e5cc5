"""Tenantry's Grafana dashboards and Prometheus alert rules, as code (`generate.py` writes the files)."""
