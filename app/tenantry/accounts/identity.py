"""Who is calling, without SQL on a warm request: the session's user, an API token's owner and a
member's role at a tenant, from the platform cache.

Users, tokens and memberships live in the public schema, so their entries go to the platform-wide
cache, never to the tenant-scoped default one; a role is filed under (user, tenant id), so a role at
one tenant is never taken for a role at another.

Every entry about a user is filed under that user's version (tenantry.core.versions), read before the
database is asked. A save or delete of the user, of one of their memberships or of their token bumps it
once the transaction has committed (the receivers below), so a deactivation, a new password, a revoked
token, a removed member or a new role is seen on the very next request, in every process. That needs
PostgreSQL's READ COMMITTED, the default: each statement sees every commit made before it started.
Before its commit a change belongs to its transaction alone: a transaction that has changed a user
reads that user from the database and files nothing, or a rollback would leave its rows cached under
a version that no commit will bump.

An API token is found without knowing its user through a pointer, token -> user id, that no version
covers: it is only a hint. The token's own entry is filed under the user's version, and only from the
database's row for that token and that user, so a stale pointer finds no token and a revoked one is
refused. Keys name a digest of the token, never the token: keys show up in Redis' tooling.
"""
import hashlib

from django.core.cache import caches
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from rest_framework.authtoken.models import Token

from tenantry.accounts import selectors
from tenantry.accounts.models import Membership, User
from tenantry.core import versions

# How long an entry of a user nobody asks about any more takes up room in Redis.
TTL_SECONDS = 3600


def _cache():
    return caches["platform"]


def version_key(user_id: int) -> str:
    """The version counter of every entry about the user."""
    return f"identity:user:{user_id}"


def _digest(token_key: str) -> str:
    return hashlib.sha256(token_key.encode()).hexdigest()


def _pointer_key(token_key: str) -> str:
    return f"identity:token:{_digest(token_key)}"


def _read(user_id: int, name: str, load):
    """`load()`, through the user's entry `name`, filed under the user's version."""
    return versions.cached("platform", [version_key(user_id)], f"identity:{user_id}:{name}", load, TTL_SECONDS)


def user(user_id: int) -> User | None:
    """The user with this id, active or not (the caller decides who may authenticate)."""
    return _read(user_id, "user", lambda: selectors.user_by_id(user_id))


def token(key: str) -> Token | None:
    """The API token `key` with its user, or None if there is no such token (any more)."""
    cache = _cache()
    pointer = _pointer_key(key)
    user_id = cache.get(pointer)
    if user_id is None:
        user_id = selectors.token_user_id(key)
        if user_id is None:
            return None
        cache.set(pointer, user_id, TTL_SECONDS)
    created = _read(user_id, f"token:{_digest(key)}", lambda: selectors.token_created(key, user_id))
    owner = user(user_id) if created is not None else None
    return None if owner is None else Token(key=key, user=owner, created=created)


def role(user_id: int, tenant_id: int) -> str | None:
    """The user's role at the tenant, or None if they are not a member of it."""
    return _read(user_id, f"role:{tenant_id}", lambda: selectors.role_of(user_id, tenant_id))


def _bump_after_commit(user_id: int, using: str) -> None:
    versions.bump_after_commit("platform", version_key(user_id), using)


@receiver([post_save, post_delete], sender=User, dispatch_uid="identity-user-changed")
def _user_changed(sender, instance: User, using: str, **kwargs) -> None:
    _bump_after_commit(instance.pk, using)


@receiver([post_save, post_delete], sender=Membership, dispatch_uid="identity-membership-changed")
def _membership_changed(sender, instance: Membership, using: str, **kwargs) -> None:
    _bump_after_commit(instance.user_id, using)


@receiver([post_save, post_delete], sender=Token, dispatch_uid="identity-token-changed")
def _token_changed(sender, instance: Token, using: str, **kwargs) -> None:
    """The bump refuses a deleted token; dropping its pointer too leaves nothing of it behind."""
    _bump_after_commit(instance.user_id, using)
    pointer = _pointer_key(instance.key)
    transaction.on_commit(lambda: _cache().delete(pointer), using=using)
