"""Failed password checks, counted per email and per client address (django-ratelimit).

Counts live in the default cache, whose keys are scoped to the active tenant, so a limit reached at
one tenant does not lock the same email out of another. The limit is checked before a password is
ever looked at, so a correct password does not get through once an email or address is limited.
Log-in and the sign-up of an existing account (which also checks a password) share these counters.
Password reset requests are counted apart, every one of them: each mails a link, so a flood of them
would spam an owner's inbox and the mail relay whether or not the address exists.
"""
from django.conf import settings
from django_ratelimit.core import get_usage

GROUP = "accounts.password-failures"
RESET_GROUP = "accounts.password-resets"


def _usages(request, email: str, increment: bool, group: str = GROUP, rate: str | None = None) -> list[dict | None]:
    keys = {"ip": "ip"}
    if email:
        keys["email"] = lambda group, request: email
    return [get_usage(request, group=f"{group}.{name}", key=key, rate=rate or settings.TENANTRY_LOGIN_RATE,
                      increment=increment) for name, key in keys.items()]


def _wait(usages: list[dict | None], reached) -> int | None:
    waits = [usage["time_left"] for usage in usages if usage is not None and reached(usage)]
    return max(1, *waits) if waits else None


def normalized(email: str) -> str:
    return email.strip().lower()


def retry_after(request, email: str) -> int | None:
    """Seconds until this email and address may try again, or None if they may now. When the
    cache cannot answer, django-ratelimit reports a zero limit, and this fails closed."""
    return _wait(_usages(request, normalized(email), increment=False),
                 lambda usage: usage["count"] >= usage["limit"])


def reset_retry_after(request, email: str) -> int | None:
    """Counts this reset request; seconds to wait when it is one too many for the email or address."""
    usages = _usages(request, normalized(email), increment=True, group=RESET_GROUP,
                     rate=settings.TENANTRY_PASSWORD_RESET_RATE)
    return _wait(usages, lambda usage: usage["should_limit"])


def record_failure(request, email: str) -> None:
    _usages(request, normalized(email), increment=True)
