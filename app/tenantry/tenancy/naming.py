"""Rules for schema names and domains, shared by the operator, the services and the tests.

PostgreSQL accepts almost anything as a quoted identifier; we accept far less, so that a name taken
from a Kubernetes object can never address a system schema or smuggle SQL into a statement.
"""
import re

from django.conf import settings

SCHEMA_RE = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
# RFC 1123 labels, lower case, at least two labels (a bare "localhost" is the platform's own host).
DOMAIN_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
RESERVED_SCHEMAS = {"public", "information_schema", "tenantry"}


def quote_identifier(identifier: str) -> str:
    """A PostgreSQL identifier, double-quoted, for DDL built as text (schema and table names)."""
    return '"' + identifier.replace('"', '""') + '"'


class InvalidName(ValueError):
    """A name we will never accept: the message says what to change."""


def reserved_schemas() -> set[str]:
    return RESERVED_SCHEMAS | {settings.PUBLIC_SCHEMA_NAME, settings.TENANTRY_TEMPLATE_SCHEMA}


def schema_for(tenant_name: str) -> str:
    """Derive a schema name from a Kubernetes object name (DNS-1123: lower case, digits, '-')."""
    return "t_" + tenant_name.replace("-", "_").replace(".", "_")


def validate_schema(name: str) -> str:
    if not SCHEMA_RE.fullmatch(name):
        raise InvalidName(f"schema {name!r} is not allowed: use 1-63 characters of a-z, 0-9 and _, "
                          "starting with a letter")
    if name in reserved_schemas() or name.startswith("pg_"):
        raise InvalidName(f"schema {name!r} is reserved: choose another name")
    return name


def validate_domain(domain: str) -> str:
    if not DOMAIN_RE.fullmatch(domain):
        raise InvalidName(f"domain {domain!r} is not a valid lower-case host name (RFC 1123), e.g. acme.example.com")
    return domain
