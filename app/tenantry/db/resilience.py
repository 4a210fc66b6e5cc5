"""What may be done again when the connection to PgBouncer or PostgreSQL is lost, and a free way to notice.

Each gunicorn thread keeps its client connection to PgBouncer between requests (CONN_MAX_AGE). A
PgBouncer restart closes all of them at once, and a PostgreSQL restart makes PgBouncer drop the
clients whose server session died and refuse new transactions until PostgreSQL is back. Without help
every thread fails its next request with a 500. The rules here decide what is safe to repeat:

- An idle connection whose socket is readable is dead: PostgreSQL and PgBouncer send nothing to an
  idle client except an error before they close it, or the end of the stream. `poll()` with a zero
  timeout sees that without a round trip, so it can run before every transaction (Django's
  CONN_HEALTH_CHECKS spends a `SELECT 1` round trip on it, and only outside atomic blocks, which
  every request is in here).
- A statement may be sent again on a new connection only if it was the first of a transaction: the
  connection was idle before it (BEGIN not even sent), so nothing of the transaction ran and nothing
  could have committed, and the error is the connection's, not the statement's. In autocommit a lost
  statement may have committed before the connection dropped: never repeated.
- A whole request may be run again, once, only when its method is safe (GET, HEAD, OPTIONS: RFC 9110
  says they change nothing) and its connection was lost; writes are never repeated.
"""
import select

import psycopg
from psycopg import pq

# Class 08 is "connection exception" (PgBouncer reports its own failures, such as "pgbouncer cannot
# connect to server", as 08P01). 57P01-57P03: an administrator or a crash shut the server down, or it
# is starting or stopping and refuses connections.
CONNECTION_SQLSTATES = frozenset({"57P01", "57P02", "57P03"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def driver_error(error: BaseException) -> BaseException:
    """The psycopg error behind one of Django's wrapped database errors (or the error itself)."""
    cause = error.__cause__
    return cause if isinstance(cause, psycopg.Error) else error


def is_connection_error(error: BaseException, connection_closed: bool) -> bool:
    """Did `error` end (or come from the end of) the connection, rather than fail one statement?"""
    error = driver_error(error)
    if not isinstance(error, psycopg.OperationalError | psycopg.InterfaceError):
        return False
    sqlstate = getattr(error, "sqlstate", None) or ""
    return connection_closed or sqlstate.startswith("08") or sqlstate in CONNECTION_SQLSTATES


def connect_retryable(error: BaseException) -> bool:
    """May a failed connection attempt be tried again? Yes when nothing answered (refused, reset: no
    SQLSTATE) or the server said it cannot take connections now; not for a refused password."""
    error = driver_error(error)
    if not isinstance(error, psycopg.OperationalError):
        return False
    sqlstate = getattr(error, "sqlstate", None)
    return sqlstate is None or sqlstate.startswith("08") or sqlstate in CONNECTION_SQLSTATES


def first_statement_retryable(error: BaseException, *, in_transaction: bool, status_before: pq.TransactionStatus,
                              connection_closed: bool) -> bool:
    """May the statement that raised `error` be sent again on a new connection?

    `in_transaction`: Django is in an atomic block that nothing has broken yet (autocommit off, so the
    driver sends BEGIN first and no statement can commit on its own). `status_before`: the driver's
    transaction status before the statement was sent; only IDLE proves nothing of this transaction ran.
    """
    return (in_transaction and status_before == pq.TransactionStatus.IDLE
            and is_connection_error(error, connection_closed))


def request_retryable(method: str, connection_lost: bool, attempt: int) -> bool:
    """May the request be run again from the start? Once, for a safe method whose connection was lost."""
    return attempt == 0 and connection_lost and method.upper() in SAFE_METHODS


def backoff(attempt: int, first: float = 0.05, cap: float = 0.5) -> float:
    """Seconds to wait before retry number `attempt` (0-based): 0 for the first (a connection that died
    while idle usually only needs a new one), then doubling from `first` up to `cap`."""
    return 0.0 if attempt == 0 else min(first * 2 ** (attempt - 1), cap)


def idle_connection_dead(conn: psycopg.Connection) -> bool:
    """True when an idle connection cannot serve another transaction: closed, or its socket readable
    (an error message or EOF waiting). No round trip; a connection inside a transaction is left alone."""
    if conn.closed:
        return True
    if conn.info.transaction_status != pq.TransactionStatus.IDLE:
        return False
    try:
        fd = conn.fileno()
    except psycopg.Error:
        return True
    poller = select.poll()
    poller.register(fd, select.POLLIN | select.POLLPRI)  # POLLERR, POLLHUP and POLLNVAL come anyway
    return bool(poller.poll(0))
