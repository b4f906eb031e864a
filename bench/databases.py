"""Scratch databases for the benchmarks: SQLite files, and PostgreSQL when it is reachable.

Each benchmark side gets a database of its own, migrated to filegate's schema, so a
baseline writes the same table (columns, indexes, constraints) filegate writes. PostgreSQL
scratch databases are created on the server named by ``BENCH_POSTGRES_URL`` (default: the
local test server) and dropped afterwards.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from filegate.adapters.sql.migrate import migrate

POSTGRES_ENV = "BENCH_POSTGRES_URL"
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
SQLITE = "sqlite"
POSTGRES = "postgres"
_CONNECT_TIMEOUT_SECONDS = 2


def admin_url() -> str:
    """Where scratch PostgreSQL databases are created (any database of that server)."""
    return os.environ.get(POSTGRES_ENV, DEFAULT_POSTGRES)


def kinds() -> list[str]:
    """The database kinds to measure: SQLite always, PostgreSQL when it answers."""
    return [SQLITE, POSTGRES] if _postgres_answers() else [SQLITE]


def _postgres_answers() -> bool:
    try:
        with psycopg.connect(admin_url(), connect_timeout=_CONNECT_TIMEOUT_SECONDS):
            return True
    except psycopg.Error:
        return False


@contextmanager
def scratch(kind: str, folder: Path, name: str) -> Iterator[str]:
    """A freshly migrated database of ``kind`` named after ``name``; its filegate URL."""
    if kind == SQLITE:
        url = f"sqlite:///{folder / f'{name}.db'}"
        migrate(url)
        yield url
        return
    with _postgres_database(name) as url:
        migrate(url)
        yield url


@contextmanager
def _postgres_database(name: str) -> Iterator[str]:
    database = f"bench_{name}_{secrets.token_hex(4)}"
    with psycopg.connect(admin_url(), autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    try:
        yield make_url(admin_url()).set(database=database).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin_url(), autocommit=True) as admin:
            statement = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
            admin.execute(statement.format(sql.Identifier(database)))
