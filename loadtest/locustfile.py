"""Locust users browsing the demo tenants of `make up`, each tenant at its own Host.

Run: .venv/bin/locust -f loadtest/locustfile.py --headless -u 20 -r 5 -t 30s --host http://127.0.0.1:8000
The full scenarios, profiles and SLO thresholds are the load-test issue's work.
"""
import random

from locust import HttpUser, between, task

TENANT_HOSTS = ("acme.localhost", "globex.localhost")


class TenantVisitor(HttpUser):
    wait_time = between(0.5, 2)

    def on_start(self) -> None:
        self.tenant_host = random.choice(TENANT_HOSTS)

    @task
    def home(self) -> None:
        with self.client.get("/", headers={"Host": self.tenant_host}, name="tenant home",
                             catch_response=True) as response:
            if self.tenant_host.split(".")[0] not in response.text.lower():
                response.failure(f"page of {self.tenant_host} does not name its tenant")
