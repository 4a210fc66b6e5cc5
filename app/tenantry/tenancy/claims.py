"""When a Tenant spec collides with other tenants: one rule set and one wording for the admission
webhook (read-only, at `kubectl apply`) and the provisioning service (under row locks), so a spec the
webhook lets in unchecked is refused later with the words it would have had at once.

Pure: callers read what the database holds and pass it in as plain data, which keeps the rules
testable without a database and leaves each caller its own reads (with or without locks).
"""
from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # services imports this module
    from tenantry.tenancy.services import TenantSpec


@dataclass(frozen=True)
class Conflict:
    reason: str  # the status condition's CamelCase reason
    message: str  # seen at `kubectl apply`: it says what to change


def conflicts(spec: TenantSpec, *, domain_owners: Mapping[str, str], schema_owner: str | None,
              current_schema: str | None, offered_plans: Collection[str]) -> list[Conflict]:
    """Every conflict, in the order the provisioning service meets them (it refuses with the first).

    Owners are Tenant resources ("<namespace>/<name>"), the spec's own included: a tenant re-applying
    what it already has is no conflict. `current_schema` is the schema of the spec's own row (None
    when it has none yet)."""
    return [*_plan(spec.plan, offered_plans), *_schema(spec, schema_owner, current_schema),
            *(domain_taken(domain, domain_owners[domain]) for domain in spec.domains
              if domain in domain_owners and domain_owners[domain] != spec.resource)]


def domain_taken(domain: str, owner: str) -> Conflict:
    """Also the words for a domain another tenant claims after its owners were read (a race)."""
    return Conflict("DomainConflict", f"domain {domain!r} is already used by tenant {owner}: choose another domain")


def _plan(plan: str | None, offered: Collection[str]) -> list[Conflict]:
    if not plan or plan in offered:  # no plan: billing is left to each member
        return []
    return [Conflict("InvalidSpec", f"unknown plan {plan!r}: choose one of {', '.join(offered)}")]


def _schema(spec: TenantSpec, owner: str | None, current: str | None) -> list[Conflict]:
    """A schema that cannot change makes who else owns the requested one moot."""
    if current is not None and current != spec.schema:
        return [Conflict("SchemaImmutable", f"schema {current!r} of this tenant is immutable: keep it, or create "
                                            f"a new Tenant to move data to schema {spec.schema!r}")]
    if owner is not None and owner != spec.resource:
        return [Conflict("SchemaConflict",
                         f"schema {spec.schema!r} is already used by tenant {owner}: choose another schema")]
    return []
