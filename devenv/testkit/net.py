"""Ports and connections for processes a test or a benchmark starts beside `make up`."""
import socket

import psycopg

from localplatform import config


def free_port() -> int:
    """A port on the platform's host that nothing listens on now (the kernel's pick)."""
    with socket.socket() as sock:
        sock.bind((config.HOST, 0))
        return sock.getsockname()[1]


def direct(db: str = config.DB_NAME, **kwargs) -> psycopg.Connection:
    """A direct (not pooled) autocommit connection to PostgreSQL, for checks behind the app's back
    and for what PgBouncer's transaction pooling cannot carry (sessions, advisory locks)."""
    return psycopg.connect(config.database_url(config.PORTS["postgres"], db), autocommit=True,
                           **{"connect_timeout": 10, **kwargs})
