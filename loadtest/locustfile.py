"""Locust users of several tenants at once, each tenant at its own Host header.

Run through `loadtest/run.py` (`make loadtest PROFILE=smoke|load|soak`), which takes the users, spawn
rate, duration and thresholds from loadtest/profiles.py and writes CSV and HTML reports. Every user
makes what it needs itself (an account through the sign-up page, projects through the forms or the
API), so a run depends on nothing but tenants that answer at the hosts given with --tenant-hosts.

With --prepared-users FILE (JSON {host: [{email, password, session, token}, ...]}, as `make bench`
writes it) members and API clients start signed in with an account of their own instead of signing
up, so hundreds of users measure the request path rather than password hashing; the tenants are then
the file's hosts.

Request names starting with "auth:" hash a password (sign-up, log-in, token) and have their own p95
threshold; see loadtest/profiles.py. At the end one line `SLO SUMMARY {json}` gives the figures the
benchmark reads.
"""
import itertools
import json
import re
import secrets
from urllib.parse import urlparse

from locust import FastHttpUser, between, events, task
from requests.cookies import create_cookie

from loadtest.profiles import PROFILES, Thresholds
from loadtest.slo import AUTH_PREFIX, Entry, broken, p95_ms

_SMOKE = PROFILES["smoke"].thresholds
_next_tenant = itertools.count()
_next_account = itertools.count()
_PROJECT_PATH = re.compile(r"^/projects/(\d+)/$")
_prepared: dict[str, list[dict]] = {}


@events.init_command_line_parser.add_listener
def _arguments(parser) -> None:
    parser.add_argument("--tenant-hosts", default="acme.localhost,globex.localhost",
                        help="comma-separated tenant hosts; users are spread over them in turn")
    parser.add_argument("--prepared-users", default="", help="JSON file of signed-in accounts per tenant host")
    parser.add_argument("--slo-p95-ms", type=float, default=_SMOKE.p95_ms)
    parser.add_argument("--slo-auth-p95-ms", type=float, default=_SMOKE.auth_p95_ms)
    parser.add_argument("--slo-max-error-ratio", type=float, default=_SMOKE.max_error_ratio)


@events.init.add_listener
def _load_prepared(environment, **kwargs) -> None:
    path = environment.parsed_options.prepared_users if environment.parsed_options else ""
    if path:
        with open(path) as handle:
            _prepared.update(json.load(handle))


@events.quitting.add_listener
def _judge(environment, **kwargs) -> None:
    """The exit code is the SLO verdict: 0 only when every threshold held."""
    options = environment.parsed_options
    thresholds = Thresholds(p95_ms=options.slo_p95_ms, auth_p95_ms=options.slo_auth_p95_ms,
                            max_error_ratio=options.slo_max_error_ratio)
    entries = [Entry(e.name, e.num_requests, e.num_failures, dict(e.response_times))
               for e in environment.stats.entries.values()]
    problems = broken(entries, thresholds)
    total = environment.stats.total
    print("SLO SUMMARY " + json.dumps({
        "requests": total.num_requests, "failures": total.num_failures, "rps": total.total_rps,
        "p95_ms": p95_ms(e for e in entries if not e.name.startswith(AUTH_PREFIX)),
        "auth_p95_ms": p95_ms(e for e in entries if e.name.startswith(AUTH_PREFIX))}), flush=True)
    for problem in problems:
        print(f"SLO BROKEN: {problem}", flush=True)
    if not problems:
        print(f"SLO OK: {thresholds}", flush=True)
    environment.process_exit_code = 1 if problems else 0


class TenantUser(FastHttpUser):
    """A person at one tenant; the tenant is chosen in turn so every tenant gets users."""
    abstract = True
    wait_time = between(0.5, 2)

    def on_start(self) -> None:
        hosts = list(_prepared) or [h.strip() for h in self.environment.parsed_options.tenant_hosts.split(",")
                                    if h.strip()]
        self.tenant_host = hosts[next(_next_tenant) % len(hosts)]
        self.slug = self.tenant_host.split(".")[0]

    def call(self, method: str, path: str, name: str, expect: int = 200, contains: str | None = None,
             location: re.Pattern | None = None, **kwargs):
        """One request at this user's tenant; a wrong status, missing text or a redirect elsewhere
        than `location` is a failure."""
        headers = {"Host": self.tenant_host, **kwargs.pop("headers", {})}
        with self.client.request(method, path, name=name, headers=headers, allow_redirects=False,
                                 catch_response=True, **kwargs) as response:
            if response.status_code != expect:
                response.failure(f"{method} {path}: {response.status_code}, expected {expect}")
            elif contains is not None and contains not in (response.text or ""):
                response.failure(f"{method} {path}: the answer does not contain {contains!r}")
            elif location is not None and not location.match(response.headers.get("Location") or ""):
                response.failure(f"{method} {path}: redirected to {response.headers.get('Location')!r}")
            return response

    def csrf_token(self) -> str:
        for cookie in self.client.cookiejar:
            if cookie.name == "csrftoken":
                return cookie.value
        return ""

    def post_form(self, path: str, name: str, data: dict, expect: int = 302, **kwargs):
        return self.call("POST", path, name, expect=expect, **kwargs,
                         data={"csrfmiddlewaretoken": self.csrf_token(), **data},
                         headers={"Referer": f"http://{self.tenant_host}{path}"})

    def account(self) -> dict | None:
        """The next prepared account of this tenant, if the run has them (see --prepared-users)."""
        accounts = _prepared.get(self.tenant_host)
        if not accounts:
            return None
        account = accounts[next(_next_account) % len(accounts)]
        self.email, self.password = account["email"], account["password"]
        return account

    def sign_in(self) -> None:
        """Start signed in: with a prepared session, else by signing up."""
        account = self.account()
        if account is None:
            self.sign_up()
        else:
            self.client.cookiejar.set_cookie(create_cookie("sessionid", account["session"],
                                                           domain=urlparse(self.host).hostname))

    def sign_up(self) -> None:
        """A new person joins this tenant (and starts a trial): what creates the run's test data."""
        self.email = f"lt-{secrets.token_hex(6)}@loadtest.example.com"
        self.password = f"Quartz-Harbor-{secrets.token_hex(4)}"
        self.call("GET", "/accounts/signup/", "signup page", contains="csrfmiddlewaretoken")
        response = self.post_form("/accounts/signup/", "auth: sign-up", {
            "email": self.email, "full_name": "Load Tester", "password1": self.password, "password2": self.password})
        if response.status_code != 302:
            raise RuntimeError(f"sign-up at {self.tenant_host} failed: {response.status_code}")


class AnonymousVisitor(TenantUser):
    """Someone looking at a tenant's front door without an account."""
    weight = 2

    @task(4)
    def landing(self) -> None:
        self.call("GET", "/", "landing", contains=self.slug)

    @task(2)
    def login_page(self) -> None:
        self.call("GET", "/accounts/login/", "login page", contains="csrfmiddlewaretoken")

    @task(1)
    def signup_page(self) -> None:
        self.call("GET", "/accounts/signup/", "signup page", contains="csrfmiddlewaretoken")

    @task(1)
    def api_root(self) -> None:
        self.call("GET", "/api/v1/", "api root", contains="projects")


class Member(TenantUser):
    """A person who signs up, then browses the dashboard and analytics and manages projects."""
    weight = 3

    def on_start(self) -> None:
        super().on_start()
        self.sign_in()

    @task(20)
    def dashboard(self) -> None:
        self.call("GET", "/dashboard/", "dashboard")

    @task(10)
    def analytics(self) -> None:
        self.call("GET", "/dashboard/analytics/", "analytics")

    @task(10)
    def project_list(self) -> None:
        self.call("GET", "/projects/?q=project", "project list")

    @task(4)
    def project_lifecycle(self) -> None:
        name = f"Load project {secrets.token_hex(3)}"
        self.call("GET", "/projects/new/", "project form", contains="csrfmiddlewaretoken")
        created = self.post_form("/projects/new/", "project create", location=_PROJECT_PATH,
                                 data={"name": name, "description": "Made by Locust.", "status": "active"})
        match = _PROJECT_PATH.match(created.headers.get("Location") or "")
        if not match:
            return  # counted as a failure by call()
        path = match.group(0)
        self.call("GET", path, "project detail", contains=name)
        self.call("GET", f"{path}edit/", "project edit form", contains=name)
        self.post_form(f"{path}edit/", "project edit", {"name": f"{name} v2", "description": "Edited.",
                                                       "status": "done"})
        self.post_form(f"{path}delete/", "project delete", {})

    @task(1)
    def log_out_and_in(self) -> None:
        """Rare, as in life: each log-in costs tens of milliseconds of CPU for password hashing, so at
        the rate of page views it would measure the hasher rather than the request path."""
        self.call("GET", "/dashboard/", "dashboard")  # where the log-out button is
        self.post_form("/accounts/logout/", "log out", {})
        self.call("GET", "/accounts/login/", "login page", contains="csrfmiddlewaretoken")
        self.post_form("/accounts/login/", "auth: log-in", {"username": self.email, "password": self.password})


class ApiClient(TenantUser):
    """A script using the REST API with its owner's token."""
    weight = 2

    def on_start(self) -> None:
        super().on_start()
        account = self.account()
        if account is not None:
            self.token = account["token"]
            return
        self.sign_up()
        response = self.call("POST", "/api/v1/auth/token/", "auth: api token",
                             json={"email": self.email, "password": self.password})
        self.token = response.json()["token"] if response.status_code == 200 else "missing"
        self.client.cookiejar.clear()  # from here on the token alone authenticates

    def api(self, method: str, path: str, name: str, expect: int = 200, **kwargs):
        return self.call(method, path, name, expect=expect,
                         headers={"Authorization": f"Token {self.token}"}, **kwargs)

    @task(3)
    def me(self) -> None:
        self.api("GET", "/api/v1/me/", "api me", contains=self.email)

    @task(4)
    def list_projects(self) -> None:
        self.api("GET", "/api/v1/projects/?search=project&ordering=-created_at", "api project list")

    @task(1)
    def project_lifecycle(self) -> None:
        created = self.api("POST", "/api/v1/projects/", "api project create", expect=201,
                           json={"name": f"API project {secrets.token_hex(3)}", "status": "active"})
        if created.status_code != 201:
            return
        path = f"/api/v1/projects/{created.json()['id']}/"
        self.api("PATCH", path, "api project update", json={"status": "done"})
        self.api("DELETE", path, "api project delete", expect=204)
