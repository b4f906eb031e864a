"""Async SQLAlchemy engines from filegate database URLs (SQLite or PostgreSQL)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

from filegate.adapters.sql.similarity import register_sqlite_functions

_ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+psycopg"}
_SYNC_DRIVERS = {"sqlite": "sqlite", "postgresql": "postgresql+psycopg"}
POSTGRES_CONNECT_TIMEOUT_SECONDS = 10


def async_url(url: str) -> str:
    """``sqlite:///x.db`` → ``sqlite+aiosqlite:///x.db``; ``postgresql://`` → psycopg."""
    return _with_driver(url, _ASYNC_DRIVERS)


def sync_url(url: str) -> str:
    """The synchronous driver URL for the same database (used by Alembic)."""
    return _with_driver(url, _SYNC_DRIVERS)


def _with_driver(url: str, drivers: dict[str, str]) -> str:
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend not in drivers:
        raise ValueError(f"unsupported database URL scheme: {parsed.drivername!r}")
    return parsed.set(drivername=drivers[backend]).render_as_string(hide_password=False)


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def create_engine(url: str, pool_size: int = 10, max_overflow: int = 10) -> AsyncEngine:
    """An engine for ``url``; SQLite gets WAL, a busy timeout, ``BEGIN IMMEDIATE`` and the
    SQL functions of :mod:`filegate.adapters.sql.similarity`.

    ``BEGIN IMMEDIATE`` takes SQLite's write lock at the start of every transaction, so that
    compare-and-set updates and queue claims from several processes serialise instead of
    failing with "database is locked" when a read transaction tries to upgrade.
    """
    if is_sqlite(url):
        ensure_parent_dir(url)
        engine = create_async_engine(async_url(url), connect_args={"timeout": 30})
        _configure_sqlite(engine)
        return engine
    # A connect time-out: a server that accepts but never answers (a stalled network) is
    # then a 503 after that long, not a request that hangs until the client gives up.
    return create_async_engine(
        async_url(url),
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_pre_ping=True,
        connect_args={"connect_timeout": POSTGRES_CONNECT_TIMEOUT_SECONDS},
    )


def ensure_parent_dir(url: str) -> None:
    """Create the folder of a SQLite database file (no-op for other databases)."""
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)


def _configure_sqlite(engine: AsyncEngine) -> None:
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _: ConnectionPoolEntry) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()
        register_sqlite_functions(dbapi_connection)

    @event.listens_for(sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
