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

A lost connection (PgBouncer or PostgreSQL restarted) is handled by the rules of `resilience`: an idle
connection whose socket says it is dead is replaced before a transaction begins; a new connection is
retried for up to RECONNECT_SECONDS; and when a transaction's first statement (always the SET LOCAL
here, on a pooled connection) fails because the connection was lost, the transaction is opened again
on a new connection, SET LOCAL included, since nothing of it ran. Nothing is repeated after a
statement of the transaction succeeded.
"""
import logging
import time
from itertools import count

from django.core.exceptions import ImproperlyConfigured
from django.db import InterfaceError, OperationalError
from django.db.backends.signals import connection_created
from django_tenants.postgresql_backend.base import DatabaseWrapper as TenantsDatabaseWrapper
from django_tenants.utils import get_public_schema_name
from psycopg import pq

from . import resilience

logger = logging.getLogger(__name__)


class TenantOutsideTransaction(ImproperlyConfigured):
    pass


class DatabaseWrapper(TenantsDatabaseWrapper):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.pooled = self.settings_dict.get("POOLED", True)
        # How long a request may wait for the database to come back (a PgBouncer restart takes well
        # under a second, a PostgreSQL fast restart a few) before the error reaches it.
        self.reconnect_seconds = float(self.settings_dict.get("RECONNECT_SECONDS", 0))
        self._reconnect_deadline = None  # while a transaction is being opened again: its deadline, for connects too

    def ensure_connection(self):
        # Before a transaction (or an autocommit query) is started on a kept connection: one poll(),
        # no round trip. Inside an atomic block the connection is never swapped here.
        if (self.connection is not None and not self.in_atomic_block
                and resilience.idle_connection_dead(self.connection)):
            logger.info("database connection %s was closed while idle; opening a new one", self.alias)
            self.close()
        super().ensure_connection()

    def connect(self):
        # PgBouncer may take the connection and then fail Django's first statement (the time zone) with
        # "server login has been failing": the whole connect is what is tried again.
        self._retry_connecting(super().connect)

    def _retry_connecting(self, attempt):
        """Run `attempt` (which opens self.connection) again while the failure says the database may
        come back soon (refused, starting or stopping, PgBouncer unable to log in), until the deadline.
        A connection left half-configured by a failed attempt is dropped, even by the last."""
        deadline = self._reconnect_deadline or time.monotonic() + self.reconnect_seconds
        for n in count(1):
            try:
                return attempt()
            except Exception as err:
                self._drop_driver_connection()
                pause = resilience.backoff(n)
                if not resilience.connect_retryable(err) or time.monotonic() + pause > deadline:
                    raise
                time.sleep(pause)

    def _drop_driver_connection(self):
        if self.connection is not None:
            try:
                self.connection.close()
            except Exception:  # already dead; closing only frees the socket
                pass
            self.connection = None

    def _cursor(self, name=None):
        """Django's cursor, with the transaction's first statement (SET LOCAL) sent again on a new
        connection when the connection turned out to be dead."""
        deadline = time.monotonic() + self.reconnect_seconds
        for attempt in count():
            in_transaction = (self.pooled and self.in_atomic_block and not self.needs_rollback
                              and not self.closed_in_transaction)
            status_before = (self.connection.info.transaction_status if self.connection is not None
                             else pq.TransactionStatus.UNKNOWN)
            try:
                return super()._cursor(name)
            except (OperationalError, InterfaceError) as err:
                closed = self.connection is None or self.connection.closed
                if not resilience.first_statement_retryable(err, in_transaction=in_transaction,
                                                            status_before=status_before, connection_closed=closed):
                    raise
                pause = resilience.backoff(attempt)
                if time.monotonic() + pause > deadline:
                    raise
                logger.warning("database connection %s lost before its transaction's first statement (%s); "
                               "opening the transaction again on a new connection", self.alias,
                               str(resilience.driver_error(err)).strip() or type(err).__name__)
                time.sleep(pause)
                self._reconnect_deadline = deadline
                try:
                    self._replace_connection_in_transaction()
                finally:
                    self._reconnect_deadline = None

    def _replace_connection_in_transaction(self):
        """A new driver connection under an atomic block whose transaction has not begun on the server.

        Django's bookkeeping (atomic blocks, on_commit callbacks, the tenant) stays as it is: what it
        describes, a transaction yet to send its first statement, is as true on the new connection.
        If no new connection can be had, the state is the one Django's own close() leaves inside an
        atomic block (closed in the transaction, to be rolled back), and the error propagates.
        """
        self._drop_driver_connection()
        self.closed_in_transaction = self.needs_rollback = True
        self.search_path_set_schemas = None
        self._retry_connecting(self._open_for_transaction)
        max_age = self.settings_dict["CONN_MAX_AGE"]
        self.close_at = None if max_age is None else time.monotonic() + max_age
        self.closed_in_transaction = self.needs_rollback = self.errors_occurred = False
        self.health_check_done = True
        connection_created.send(sender=self.__class__, connection=self)

    def _open_for_transaction(self):
        with self.wrap_database_errors:
            self.connection = self.get_new_connection(self.get_connection_params())
            self.connection.autocommit = True  # Django's own setup (the time zone) runs in autocommit
        self.init_connection_state()
        with self.wrap_database_errors:
            self.connection.autocommit = False

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
