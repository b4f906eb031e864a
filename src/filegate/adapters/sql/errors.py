"""Translate SQL driver failures that may pass into ``BackendUnavailable``.

Usage, in sync or async code alike (the same object supports both protocols)::

    async with translate_errors():
        async with engine.begin() as connection:
            ...

    with translate_errors():  # also fine inside a coroutine
        ...

Transient means: the server is unreachable or went away, a timeout (SQLite's busy timeout
surfaces as ``OperationalError: database is locked``), a pool checkout timeout, or any
driver error after which SQLAlchemy invalidated the connection. Everything else — integrity
violations, programming errors — passes through unchanged.
"""

from __future__ import annotations

import sqlite3
from types import TracebackType
from typing import TYPE_CHECKING

from sqlalchemy import exc as sa_exc

from filegate.domain.errors import BackendUnavailable

if TYPE_CHECKING:  # the database runs its transactions through this module's translation
    from sqlalchemy import Insert

    from filegate.adapters.sql.database import Database

_UNIQUE_SQLSTATE = "23505"
_SQLITE_UNIQUE_NAMES = frozenset({"SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY"})


def is_transient(exc: BaseException) -> bool:
    """Whether ``exc`` is a database failure that may pass if retried later."""
    if isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError | sa_exc.TimeoutError):
        return True
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, OSError)


class translate_errors:  # lower-case: it reads like a function at the call site
    """Context manager (sync and async) raising ``BackendUnavailable`` from transient errors.

    The original exception is chained (``raise ... from exc``); non-transient exceptions
    propagate untouched.
    """

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is not None and is_transient(exc):
            raise BackendUnavailable(f"database unavailable: {type(exc).__name__}") from exc

    async def __aenter__(self) -> None:
        return None

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.__exit__(exc_type, exc, tb)


def is_unique_violation(exc: sa_exc.IntegrityError) -> bool:
    """Whether ``exc`` is a unique or primary-key violation (PostgreSQL or SQLite)."""
    orig = exc.orig
    if getattr(orig, "sqlstate", None) == _UNIQUE_SQLSTATE:
        return True
    if isinstance(orig, sqlite3.IntegrityError):
        return getattr(orig, "sqlite_errorname", None) in _SQLITE_UNIQUE_NAMES
    return False


async def insert_unique(database: Database, statement: Insert, duplicate: str) -> None:
    """Run ``statement`` in a transaction of its own; a unique or primary-key violation
    raises ``ValueError(duplicate)`` (any other integrity error passes unchanged)."""
    try:
        await database.write(lambda connection: connection.execute(statement))
    except sa_exc.IntegrityError as exc:
        if not is_unique_violation(exc):
            raise
        raise ValueError(duplicate) from exc
