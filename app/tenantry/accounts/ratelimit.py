"""Failed password checks, counted per email and per client address (django-ratelimit).

Counts live in the default cache, whose keys are scoped to the active tenant, so a limit reached at
one tenant does not lock the same email out of another. The limit is checked before a password is
ever looked at, so a correct password does not get through once an email or address is limited.
Log-in and the sign-up of an existing account (which also checks a password) share these counters.
"""
from django.conf import settings
from django_ratelimit.core import get_usage

GROUP = "accounts.password-failures"


def _usages(request, email: str, increment: bool) -> list[dict | None]:
    keys = {"ip": "ip"}
    if email:
        keys["email"] = lambda group, request: email
    return [get_usage(request, group=f"{GROUP}.{name}", key=key, rate=settings.TENANTRY_LOGIN_RATE,
                      increment=increment) for name, key in keys.items()]


def normalized(email: str) -> str:
    return email.strip().lower()


def retry_after(request, email: str) -> int | None:
    """Seconds until this email and address may try again, or None if they may now. When the
    cache cannot answer, django-ratelimit reports a zero limit, and this fails closed."""
    waits = [usage["time_left"] for usage in _usages(request, normalized(email), increment=False)
             if usage is not None and usage["count"] >= usage["limit"]]
    return max(1, *waits) if waits else None


def record_failure(request, email: str) -> None:
    _usages(request, normalized(email), increment=True)
