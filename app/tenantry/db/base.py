"""django-tenants' PostgreSQL backend with the tenant's search_path scoped to one transaction.

Stock django-tenants issues a session-level `SET search_path` and remembers it per connection. Behind
PgBouncer in transaction mode the "connection" is a different server session after every commit, so
the remembered setting is a lie and the next client of that server session inherits it: one tenant's
request reads another tenant's rows (django-tenants issues #1112, #545, #732).

Here, while a tenant is selected, the search_path is set with `SET LOCAL` as the first statement of
each transaction and forgotten at commit or rollback. A tenant query outside any transaction cannot
be made safe on a pooled connection, so it raises instead of guessing (the router wraps each request
in a transaction). On a direct connection (operator, migrations; POOLED false) the session-level
behaviour of django-tenants is kept, since migrations introspect outside transactions.
"""
from django.core.exceptions import ImproperlyConfigured
from django_tenants.postgresql_backend.base import DatabaseWrapper as TenantsDatabaseWrapper
from django_tenants.utils import get_public_schema_name


class TenantOutsideTransaction(ImproperlyConfigured):
    pass


class DatabaseWrapper(TenantsDatabaseWrapper):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.pooled = self.settings_dict.get("POOLED", True)

    def init_connection_state(self):
        # Django runs its own queries while connecting (the server version); they belong to no
        # tenant, and the request's transaction has not begun yet.
        self._setting_search_path = True
        try:
            super().init_connection_state()
        finally:
            self._setting_search_path = False

    def _commit(self):
        # SET LOCAL ends with the transaction: the next one must set it again.
        self.search_path_set_schemas = None
        return super()._commit()

    def _rollback(self):
        self.search_path_set_schemas = None
        return super()._rollback()

    def _handle_search_path(self, cursor=None):
        if not self.pooled:
            return super()._handle_search_path(cursor)
        if self._setting_search_path:
            return
        if not self.in_atomic_block:
            if self.schema_name in (None, get_public_schema_name()):
                # The role's default search_path is `public`. Another client of the same pooler could
                # still have left a session-level path behind, so the router runs every request
                # (public ones too) in a transaction that sets the path; only probes like /readyz's
                # SELECT 1 get here.
                return
            raise TenantOutsideTransaction(
                f"Query for tenant schema {self.schema_name!r} outside a transaction: behind a "
                "transaction pooler it could run on another tenant's server session. Wrap it in "
                "transaction.atomic() (the tenant router does this for every request).")
        search_paths = self._get_cursor_search_paths()
        if self.search_path_set_schemas == search_paths:
            return
        self._setting_search_path = True
        target = self.connection.cursor() if cursor is None else cursor
        try:
            quoted = ", ".join(self.ops.quote_name(schema) for schema in search_paths)
            target.execute(f"SET LOCAL search_path = {quoted}")
            self.search_path_set_schemas = search_paths
        finally:
            self._setting_search_path = False
            if cursor is None:
                target.close()
