"""`make bench`: Tenantry's figures, each comparison measured side by side in one run (python -m bench)."""
