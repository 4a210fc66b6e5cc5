"""What the deployed code expects of a tenant schema: every migration of its graph, recorded.

A tenant schema records every app's migrations (shared apps' ones as no-ops), so a schema is current
when it has recorded every node of the graph. The version is a short digest of a set of migration
names: a schema's version is the digest of the graph nodes it has recorded, so schemas that stopped at
the same release share a version, and a schema is current exactly when its version is the target's.
"""
import functools
import hashlib
from dataclasses import dataclass

from django.db.migrations.graph import MigrationGraph
from django.db.migrations.loader import MigrationLoader


def migration_name(app: str, name: str) -> str:
    return f"{app}.{name}"


def version_of(names) -> str:
    """The digest PostgreSQL computes in `survey` too: md5 of the names sorted bytewise, one per line."""
    return hashlib.md5("\n".join(sorted(names)).encode()).hexdigest()[:12]


@dataclass(frozen=True)
class Target:
    graph: MigrationGraph
    names: frozenset[str]  # "app.migration" of every node
    version: str
    unmigrated_apps: frozenset[str] = frozenset()  # apps without migrations: their models are always there

    @classmethod
    def from_loader(cls, loader: MigrationLoader) -> "Target":
        names = frozenset(migration_name(app, name) for app, name in loader.graph.nodes)
        return cls(graph=loader.graph, names=names, version=version_of(names),
                   unmigrated_apps=frozenset(loader.unmigrated_apps))

    def ordered(self) -> list[tuple[str, str]]:
        """Every node, dependencies first."""
        return self.plan(frozenset())

    def plan(self, applied: frozenset[str]) -> list[tuple[str, str]]:
        """The nodes missing from `applied`, in an order that respects every dependency."""
        ordered: list[tuple[str, str]] = []
        seen = set()
        for leaf in sorted(self.graph.leaf_nodes()):
            for node in self.graph.forwards_plan(leaf):
                if node not in seen and migration_name(*node) not in applied:
                    seen.add(node)
                    ordered.append(node)
        return ordered


@functools.cache
def deployed() -> Target:
    """The migrations on disk do not change while a process runs."""
    return Target.from_loader(MigrationLoader(None, ignore_no_migrations=True))
