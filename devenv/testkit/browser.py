"""A browser at one tenant host, over plain HTTP: its Host header, its cookie jar, the login form with
its CSRF token. For checks that need a real session through a real server (gunicorn, or Traefik on
the node), where Django's test client would skip the server."""
import http.client
import re
import urllib.parse
from dataclasses import dataclass
from http.cookies import SimpleCookie

from localplatform import config


@dataclass(frozen=True)
class Reply:
    status: int
    body: str
    headers: dict[str, list[str]]  # lower-case names; every value of a repeated header

    def header(self, name: str) -> str | None:
        values = self.headers.get(name.lower())
        return values[0] if values else None


class Browser:
    def __init__(self, port: int, host: str, address: str = config.HOST, timeout: float = 15):
        self.address, self.port, self.host, self.timeout = address, port, host, timeout
        self.cookies: dict[str, str] = {}

    @property
    def cookie_header(self) -> str:
        return "; ".join(f"{name}={value}" for name, value in self.cookies.items())

    def request(self, method: str, path: str, form: dict[str, str] | None = None,
                headers: dict[str, str] | None = None) -> Reply:
        """One request; the cookies it sets are kept (and deleted ones forgotten), as a browser does."""
        sent = {"Host": self.host, **({"Cookie": self.cookie_header} if self.cookies else {}), **(headers or {})}
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            sent.update({"Content-Type": "application/x-www-form-urlencoded", "Referer": f"http://{self.host}{path}"})
        connection = http.client.HTTPConnection(self.address, self.port, timeout=self.timeout)
        try:
            connection.request(method, path, body=body, headers=sent)
            response = connection.getresponse()
            received: dict[str, list[str]] = {}
            for name, value in response.getheaders():
                received.setdefault(name.lower(), []).append(value)
            reply = Reply(response.status, response.read().decode(errors="replace"), received)
        finally:
            connection.close()
        for cookie in SimpleCookie("\n".join(received.get("set-cookie", []))).values():
            if cookie.value and cookie["max-age"] != "0":
                self.cookies[cookie.key] = cookie.value
            else:
                self.cookies.pop(cookie.key, None)
        return reply

    def get(self, path: str, **kwargs) -> Reply:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, form: dict[str, str]) -> Reply:
        """A form as the page that holds it sends it: with the CSRF token of this browser's cookie."""
        return self.request("POST", path, {"csrfmiddlewaretoken": self.csrf_token(path), **form})

    def csrf_token(self, path: str) -> str:
        page = self.get(path)
        found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.body)
        if found is None:
            raise AssertionError(f"no CSRF token in the form at {path} ({page.status})")
        return found.group(1)

    def log_in(self, email: str, password: str) -> "Browser":
        reply = self.post("/accounts/login/", {"username": email, "password": password})
        if reply.status != 302 or "sessionid" not in self.cookies:
            raise AssertionError(f"logging in as {email} at {self.host} failed: {reply.status} {reply.body[:300]}")
        return self

    def signed_in(self) -> bool:
        """Does the session still open a page that needs a login (no redirect to the login form)?"""
        return self.get("/dashboard/").status == 200
