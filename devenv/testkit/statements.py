"""Counting SQL statements the way a web pod sends them behind PgBouncer: one SET LOCAL per
transaction, not the session-level SET that django-tenants repeats on a direct connection. The tests'
query budgets and `make bench`'s queries per view count with these same functions."""
import re
from contextlib import contextmanager


@contextmanager
def pooled_capture():
    """Capture the statements of the block on Django's connection, marked pooled as a pod's is."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    connection.pooled = True
    try:
        with CaptureQueriesContext(connection) as captured:
            yield captured
    finally:
        connection.pooled = False


def kind(sql: str) -> str:
    """What a statement is: "BEGIN", "SET LOCAL", "SELECT", ..."""
    return re.match(r"SET LOCAL|\w+", sql).group()


def kinds(captured) -> list[str]:
    return [kind(query["sql"]) for query in captured.captured_queries]
