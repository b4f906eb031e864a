"""Baseline servers: what a user would write instead of filegate, on the same database.

A bare FastAPI app with two endpoints: ``POST /bare/files`` validates a declaration
(pydantic) and INSERTs one row into ``files`` (filegate's own table, migrated, so the same
columns, indexes and constraints), in one statement and one transaction;
``POST /bare/files/batch`` does the same for a list of declarations with one
``executemany`` in one transaction. No authentication: the owner is read, unverified,
from the end of the bearer token, so that one token means one owner as it does for
filegate. SQLite runs through the stdlib ``sqlite3`` module (WAL, ``synchronous=NORMAL``,
one connection used from the event loop); PostgreSQL through psycopg's async connections
in a small pool. uvicorn runs the factories (``bench.bare_apps:sqlite_app --factory``),
configured by :data:`DATABASE_ENV`.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import psycopg
from fastapi import FastAPI, Header
from psycopg.types.json import Json
from pydantic import BaseModel
from sqlalchemy.engine import make_url

from bench.databases import POSTGRES, SQLITE
from bench.servers import ServerSpec, uvicorn_factory

DATABASE_ENV = "BENCH_DATABASE_URL"
"""The filegate URL of the (migrated) database the bare app writes."""
FILES_PATH = "/bare/files"
BATCH_PATH = "/bare/files/batch"
POOL_SIZE = 20
"""PostgreSQL connections at most: filegate's default pool (10) plus its overflow (10)."""
DESCRIPTION = {
    SQLITE: "bare FastAPI + stdlib sqlite3 (WAL, synchronous=NORMAL)",
    POSTGRES: f"bare FastAPI + psycopg async connections (pool of {POOL_SIZE})",
}
"""What the bare app of each database kind is, for the report."""
UPLOAD_WINDOW = timedelta(hours=1)
_OWNER_CHARS = 24

_COLUMNS = (
    "id, owner, object_key, filename, declared_size, declared_type, declared_sha256,"
    " state, created_at, updated_at, upload_expires_at, version, metadata, pinned"
)
_SQLITE_INSERT = f"INSERT INTO files ({_COLUMNS}) VALUES ({', '.join('?' * 14)})"
_POSTGRES_INSERT = f"INSERT INTO files ({_COLUMNS}) VALUES ({', '.join(['%s'] * 14)})"


class Declaration(BaseModel):
    """The fields of a registration, validated as any FastAPI endpoint would."""

    filename: str
    content_type: str
    size: int
    sha256: str | None = None


class Batch(BaseModel):
    files: list[Declaration]


class _Writer(Protocol):
    """Inserts file rows, all in one transaction."""

    async def insert(self, rows: Sequence[tuple[Any, ...]]) -> None: ...


def server(kind: str, database_url: str) -> ServerSpec:
    """The bare app of ``kind`` on the migrated database at ``database_url``, under uvicorn."""
    factory = {SQLITE: "sqlite_app", POSTGRES: "postgres_app"}[kind]
    return uvicorn_factory(f"{__name__}:{factory}", {DATABASE_ENV: database_url})


def sqlite_app() -> FastAPI:
    """The bare app on the SQLite file of :data:`DATABASE_ENV`."""
    return _app(_SqliteWriter(make_url(os.environ[DATABASE_ENV]).database or ""), sqlite=True)


def postgres_app() -> FastAPI:
    """The bare app on the PostgreSQL database of :data:`DATABASE_ENV`."""
    return _app(_PostgresWriter(os.environ[DATABASE_ENV], POOL_SIZE), sqlite=False)


def _app(writer: _Writer, sqlite: bool) -> FastAPI:
    app = FastAPI()

    @app.post(FILES_PATH, status_code=201)
    async def register(body: Declaration, authorization: str = Header()) -> dict[str, str]:
        row = _row(_owner(authorization), body, datetime.now(UTC), sqlite)
        await writer.insert([row])
        return {"id": row[0], "object_key": row[2], "state": "REGISTERED"}

    @app.post(BATCH_PATH, status_code=201)
    async def register_batch(
        body: Batch, authorization: str = Header()
    ) -> dict[str, list[dict[str, str]]]:
        owner, now = _owner(authorization), datetime.now(UTC)
        rows = [_row(owner, declared, now, sqlite) for declared in body.files]
        await writer.insert(rows)
        return {"files": [{"id": row[0], "state": "REGISTERED"} for row in rows]}

    return app


def _owner(authorization: str) -> str:
    return "user:" + authorization[-_OWNER_CHARS:]


def _row(owner: str, body: Declaration, now: datetime, sqlite: bool) -> tuple[Any, ...]:
    """The columns filegate sets on a new file; times and JSON as each driver takes them."""
    file_id = uuid.uuid4().hex
    expires = now + UPLOAD_WINDOW
    times: tuple[Any, ...] = (now, now, expires)
    if sqlite:  # how SQLAlchemy stores UTC times in SQLite: naive text, microseconds
        times = tuple(t.replace(tzinfo=None).isoformat(" ", "microseconds") for t in times)
    metadata: Any = "{}" if sqlite else Json({})
    return (
        *(file_id, owner, f"{owner[-16:]}/{file_id}", body.filename, body.size),
        *(body.content_type, body.sha256, "REGISTERED", *times, 1, metadata, False),
    )


class _SqliteWriter:
    """One stdlib connection, used from the event loop (each insert takes microseconds)."""

    def __init__(self, path: str) -> None:
        self._connection = sqlite3.connect(path, isolation_level=None)
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=30000"):
            self._connection.execute(f"PRAGMA {pragma}")

    async def insert(self, rows: Sequence[tuple[Any, ...]]) -> None:
        connection = self._connection
        connection.execute("BEGIN")
        try:
            connection.executemany(_SQLITE_INSERT, rows)
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")


class _PostgresWriter:
    """psycopg async connections, opened on demand up to ``size``, reused in turn."""

    def __init__(self, url: str, size: int) -> None:
        self._url = url
        self._size = size
        self._opened = 0
        self._idle: asyncio.Queue[psycopg.AsyncConnection[Any]] = asyncio.Queue()

    async def insert(self, rows: Sequence[tuple[Any, ...]]) -> None:
        async with self._connection() as connection:
            if len(rows) == 1:  # autocommit: the statement is its own transaction
                await connection.execute(_POSTGRES_INSERT, rows[0])
                return
            async with connection.transaction(), connection.cursor() as cursor:
                await cursor.executemany(_POSTGRES_INSERT, rows)

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        if self._idle.empty() and self._opened < self._size:
            self._opened += 1
            connection = await psycopg.AsyncConnection.connect(self._url, autocommit=True)
        else:
            connection = await self._idle.get()
        try:
            yield connection
        finally:
            self._idle.put_nowait(connection)
