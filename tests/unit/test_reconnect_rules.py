"""The decisions of tenantry.db.resilience: which lost-connection failures may be repeated, and when.

Real psycopg and Django error objects, built the way the driver and Django's error wrapper build them;
the connection-level behaviour is tested against real services in tests/integration/test_db_resilience.py.
"""
import django.db.utils
import psycopg
import pytest
from psycopg import errors, pq

from tenantry.db import resilience

IDLE, INTRANS, UNKNOWN = pq.TransactionStatus.IDLE, pq.TransactionStatus.INTRANS, pq.TransactionStatus.UNKNOWN
EOF_ERROR = psycopg.OperationalError("consuming input failed: server closed the connection unexpectedly")


class _Backend:
    """What Django's error wrapper reads of a database backend."""
    Database = psycopg
    errors_occurred = False


def wrapped(error: psycopg.Error) -> django.db.utils.Error:
    """The error as Django raises it to the application: through its own DatabaseErrorWrapper."""
    try:
        with django.db.utils.DatabaseErrorWrapper(_Backend()):
            raise error
    except django.db.utils.Error as err:
        assert err.__cause__ is error
        return err


@pytest.mark.parametrize("error, closed, expected", [
    (EOF_ERROR, True, True),                                        # PgBouncer restarted: EOF on the socket
    (errors.AdminShutdown("terminating connection due to administrator command"), False, True),  # 57P01
    (errors.CannotConnectNow("the database system is shutting down"), False, True),  # 57P03
    (errors.ProtocolViolation("pgbouncer cannot connect to server"), False, True),  # 08P01
    (psycopg.OperationalError("some statement failed"), False, False),  # the connection still works
    (errors.QueryCanceled("canceling statement due to statement timeout"), False, False),  # 57014
    (errors.UniqueViolation("duplicate key"), True, False),         # a statement's own error, never
    (errors.SyntaxError("syntax error"), False, False),
    (psycopg.InterfaceError("the connection is lost"), True, True),
])
def test_a_connection_error_is_told_from_a_statement_error(error, closed, expected):
    assert resilience.is_connection_error(error, connection_closed=closed) is expected
    assert resilience.is_connection_error(wrapped(error), connection_closed=closed) is expected


@pytest.mark.parametrize("error, expected", [
    (psycopg.OperationalError("connection failed: connection refused"), True),  # PgBouncer not listening yet
    (errors.CannotConnectNow("the database system is starting up"), True),
    (errors.ProtocolViolation("pgbouncer cannot connect to server"), True),
    (errors.InvalidPassword("password authentication failed"), False),  # 28P01: waiting will not help
    (errors.InvalidCatalogName('database "nope" does not exist'), False),
    (ValueError("not a database error"), False),
])
def test_only_a_connection_that_could_come_back_is_retried(error, expected):
    assert resilience.connect_retryable(error) is expected


def test_the_first_statement_of_a_transaction_is_retried_on_a_lost_connection():
    assert resilience.first_statement_retryable(wrapped(EOF_ERROR), in_transaction=True, status_before=IDLE,
                                                connection_closed=True)


@pytest.mark.parametrize("in_transaction, status_before, why", [
    (True, INTRANS, "a statement of this transaction already ran: its effects and reads cannot be replayed"),
    (True, UNKNOWN, "the connection was already broken before: something in this transaction failed"),
    (False, IDLE, "autocommit: the statement may have committed before the connection dropped"),
])
def test_nothing_is_retried_once_a_statement_ran_or_outside_a_transaction(in_transaction, status_before, why):
    assert not resilience.first_statement_retryable(wrapped(EOF_ERROR), in_transaction=in_transaction,
                                                    status_before=status_before, connection_closed=True), why


def test_a_statement_error_on_a_live_connection_is_not_retried_even_first():
    duplicate = wrapped(errors.UniqueViolation("duplicate key value violates unique constraint"))
    assert not resilience.first_statement_retryable(duplicate, in_transaction=True, status_before=IDLE,
                                                    connection_closed=False)


@pytest.mark.parametrize("method, lost, attempt, expected", [
    ("GET", True, 0, True),
    ("HEAD", True, 0, True),
    ("get", True, 0, True),
    ("OPTIONS", True, 0, True),
    ("GET", True, 1, False),    # once only
    ("GET", False, 0, False),   # a 500 of another cause is not hidden by running it again
    ("POST", True, 0, False),   # a write may have committed: never twice
    ("PUT", True, 0, False),
    ("PATCH", True, 0, False),
    ("DELETE", True, 0, False),
])
def test_only_a_safe_request_whose_connection_was_lost_runs_again_once(method, lost, attempt, expected):
    assert resilience.request_retryable(method, lost, attempt) is expected


def test_the_first_retry_is_immediate_then_the_pauses_double_up_to_a_cap():
    assert [resilience.backoff(n) for n in range(7)] == [0.0, 0.05, 0.1, 0.2, 0.4, 0.5, 0.5]
