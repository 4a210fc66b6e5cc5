"""Operator configuration from TENANTRY_* environment variables, checked once at start."""
import os
from dataclasses import dataclass


@dataclass(frozen=True)
class OperatorConfig:
    base_domain: str
    url_scheme: str
    url_port: int | None

    @classmethod
    def from_env(cls, environ=os.environ) -> "OperatorConfig":
        port = environ.get("TENANTRY_PUBLIC_PORT", "")
        if port and not port.isdigit():
            raise SystemExit(f"TENANTRY_PUBLIC_PORT={port!r} must be a port number (or unset for 80/443)")
        scheme = environ.get("TENANTRY_PUBLIC_SCHEME", "https")
        if scheme not in ("http", "https"):
            raise SystemExit(f"TENANTRY_PUBLIC_SCHEME={scheme!r} must be http or https")
        return cls(base_domain=environ.get("TENANTRY_BASE_DOMAIN", "localhost"), url_scheme=scheme,
                   url_port=int(port) if port else None)

    def url_for(self, domain: str) -> str:
        port = f":{self.url_port}" if self.url_port else ""
        return f"{self.url_scheme}://{domain}{port}/"
