"""Locust scenarios of Tenantry's users, their profiles and the SLO thresholds that set the exit code."""
