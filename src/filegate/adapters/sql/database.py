"""``Database``: whole transactions run in one hop onto the database driver.

The SQL adapters write each transaction as one synchronous function of a SQLAlchemy
``Connection`` and hand it to :meth:`Database.write` or :meth:`Database.read`, which run it
and commit (or roll back on an exception) before they return::

    def insert_one(connection: Connection) -> None:
        connection.execute(insert(files).values(...))

    await database.write(insert_one)

Why functions rather than ``async with engine.begin()``: on SQLite every statement of an
async driver is a round trip between the event loop and the driver's thread, and those
hand-offs cost more than the statements. Here a whole transaction is one hand-off:

* **SQLite**: writes run on one dedicated writer thread with its own connection
  (``BEGIN IMMEDIATE``, so writers from several processes queue on the lock instead of
  failing when a reader upgrades). Reads run on a small pool of reader threads, each with
  its own ``query_only`` connection and a plain ``BEGIN``: in WAL mode they read a snapshot
  and never take, or wait for, the write lock.
* **PostgreSQL**: the work runs on one of a pool of threads, each keeping its own psycopg
  connection (``FILEGATE_DB_POOL_SIZE`` + ``FILEGATE_DB_MAX_OVERFLOW`` of them, opened as
  load needs them). libpq releases the GIL while it waits for the server, so the threads
  wait in parallel; measured here, this runs a small transaction about 2.5 times faster than
  SQLAlchemy's asyncio engine on psycopg's async connection (greenlet switches and
  a pool checkout per transaction).

:meth:`Database.write_short` is :meth:`~Database.write` for a transaction of a few
statements: on SQLite it runs on the calling thread when the write lock is free at once
(the queue's calls, whose statements cost less than the two hand-offs).

:meth:`Database.write_alone` is :meth:`~Database.write` for work whose statements may
each commit on their own: on PostgreSQL they do (autocommit, no ``BEGIN``/``COMMIT`` round
trips; a registration is one statement).

Transient driver failures leave as ``BackendUnavailable``
(:func:`~filegate.adapters.sql.errors.translate_errors`); anything else (an integrity
violation, a ``QuotaExceeded`` raised by the work) propagates unchanged after the rollback.
A work function must not block on anything but the database: on SQLite it holds the one
writer thread while it runs. A caller that is cancelled does not stop its transaction: the
work runs to its end (commit or rollback) on its thread, and its outcome is dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

from sqlalchemy import Connection, Engine, event
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.engine import make_url
from sqlalchemy.pool import ConnectionPoolEntry, SingletonThreadPool

from filegate.adapters.sql import sqlite_dialect
from filegate.adapters.sql.engine import ensure_parent_dir, sync_url
from filegate.adapters.sql.errors import translate_errors
from filegate.adapters.sql.similarity import register_sqlite_functions
from filegate.adapters.sql.sqlite_inline import InlineWriter

T = TypeVar("T")
Work = Callable[[Connection], T]
"""One transaction's statements, run synchronously on a connection inside a transaction."""
Mode = Literal["read", "write"]

SQLITE_READER_THREADS = 4
"""Reader connections (and threads) per SQLite database: reads of one process in parallel."""
SQLITE_BUSY_TIMEOUT_MS = 30_000
INLINE_THREADS = 4
"""Threads (event loops) per SQLite database that may each keep a short-write connection."""
CHECKPOINT_EVERY_SHORT_WRITES = 64
"""One short write in this many runs on the writer thread (whose commits checkpoint)."""
POSTGRES_CONNECT_TIMEOUT_SECONDS = 10


class TransactionCounter:
    """How many transactions each mode has run (thread-safe; read by the metrics)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {"read": 0, "write": 0}

    def add(self, mode: Mode) -> None:
        with self._lock:
            self._counts[mode] += 1

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)


class Database:
    """Runs transactions (:meth:`write`, :meth:`read`); see the module docstring."""

    dialect: str
    """``"sqlite"`` or ``"postgresql"``."""

    def __init__(self, url: str, writer: _ThreadConnections, reader: _ThreadConnections) -> None:
        self.url = url
        """The filegate database URL this database was opened from."""
        self.transactions = TransactionCounter()
        self._writer = writer
        self._reader = reader

    async def write(self, work: Work[T]) -> T:
        """Run ``work`` in one read-write transaction; commit when it returns."""
        self.transactions.add("write")
        return await self._writer.run(work)

    async def write_short(self, work: Work[T]) -> T:
        """As :meth:`write`, for a transaction of a few statements on rows it names (no
        scan, no large batch): on SQLite it may run at once on the calling thread (see
        :class:`SqliteDatabase`), holding the event loop for its statements."""
        return await self.write(work)

    async def write_alone(self, work: Work[T]) -> T:
        """As :meth:`write`, for work whose every statement may commit on its own (a
        transaction of one statement, or statements each complete by itself): on
        PostgreSQL each does (autocommit), which saves the ``BEGIN`` and ``COMMIT`` round
        trips; a failing statement then undoes only itself."""
        return await self.write(work)

    async def read(self, work: Work[T]) -> T:
        """Run ``work`` in one read-only transaction: a consistent snapshot on SQLite; on
        PostgreSQL at the server's isolation level (by default each statement its own)."""
        self.transactions.add("read")
        return await self._reader.run(work)

    async def dispose(self) -> None:
        """Close every connection (and thread); the database is unusable afterwards."""
        for connections in {self._writer, self._reader}:
            await asyncio.to_thread(connections.close)

    @property
    def is_postgres(self) -> bool:
        return self.dialect == "postgresql"


class SqliteDatabase(Database):
    """A writer thread with ``BEGIN IMMEDIATE``; reader threads with plain ``BEGIN``.

    :meth:`write_short` runs its work on the calling thread, with no hand-off, when the
    writer thread has nothing to do and the write lock is free at once (an
    :class:`~filegate.adapters.sql.sqlite_inline.InlineWriter`, on a connection of its own
    that never waits for the lock); otherwise on the writer thread, as :meth:`write`.
    """

    dialect = "sqlite"

    def __init__(self, url: str, reader_threads: int = SQLITE_READER_THREADS) -> None:
        ensure_parent_dir(url)
        engine = _sqlite_engine(url, "BEGIN IMMEDIATE", query_only=False, threads=1)
        writer = _ThreadConnections(engine, 1, "filegate-sqlite-write")
        reader = writer  # in memory: each connection would be a different, empty database
        self._inline: InlineWriter | None = None
        if make_url(url).database not in (None, "", ":memory:"):
            engine = _sqlite_engine(url, "BEGIN", query_only=True, threads=reader_threads)
            reader = _ThreadConnections(engine, reader_threads, "filegate-sqlite-read")
            engine = _sqlite_engine(
                url,
                "BEGIN IMMEDIATE",
                query_only=False,
                threads=INLINE_THREADS,
                busy_ms=0,
                checkpoints=False,
            )
            self._inline = InlineWriter(engine)
        self._short_writes = 0
        super().__init__(url, writer, reader)

    async def write_short(self, work: Work[T]) -> T:
        self.transactions.add("write")
        self._short_writes += 1
        # Every so often one goes to the writer thread: its commit runs the WAL checkpoint
        # (fsyncs, milliseconds) that the inline connection leaves, off the event loop.
        to_writer = self._short_writes % CHECKPOINT_EVERY_SHORT_WRITES == 0
        if self._inline is not None and not self._writer.busy and not to_writer:
            done = self._inline.try_run(work)
            if done is not None:
                return done.value
        return await self._writer.run(work)

    async def dispose(self) -> None:
        if self._inline is not None:
            self._inline.close()
        await super().dispose()


class _ThreadConnections:
    """Threads that each keep one open connection and run whole transactions on it.

    Keeping the connection (rather than checking one out of a pool per transaction) saves
    the pool's bookkeeping and its reset-on-return rollback, most of an empty transaction's
    cost. A connection that the driver invalidated is replaced on its thread's next use.
    The hand-off is a ``SimpleQueue`` and the loop's ``call_soon_threadsafe``: half the cost
    of ``run_in_executor`` per round trip, measured here (14 against 25-29 µs). Threads
    start as load needs them, up to ``threads``, like ``ThreadPoolExecutor``'s.
    """

    def __init__(self, engine: Engine, threads: int, name: str) -> None:
        self._engine = engine
        self._most = threads
        self._name = name
        self._jobs: queue.SimpleQueue[_Job[Any] | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._idle = 0
        self._pending = 0
        self._lock = threading.Lock()

    async def run(self, work: Work[T], *, alone: bool = False) -> T:
        """Run ``work`` in a transaction on one of the threads (``alone``: each of its
        statements commits by itself, see :meth:`Database.write_alone`)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._start_thread_unless_one_is_idle()
        self._jobs.put(_Job(loop, future, work, alone))
        return await future

    def close(self) -> None:
        """Let queued transactions finish, then close every connection and thread."""
        with self._lock:
            threads = list(self._threads)
        for _ in threads:
            self._jobs.put(None)
        for thread in threads:
            thread.join()
        self._engine.dispose()

    @property
    def busy(self) -> bool:
        """Whether a transaction is queued or running (read without the lock: a hint)."""
        return self._pending > 0

    def _start_thread_unless_one_is_idle(self) -> None:
        with self._lock:
            self._pending += 1
            if self._idle > 0:
                self._idle -= 1  # this job is that thread's
                return
            if len(self._threads) >= self._most:
                return
            thread = threading.Thread(
                target=self._serve, name=f"{self._name}-{len(self._threads)}", daemon=True
            )
            self._threads.append(thread)
        thread.start()

    def _serve(self) -> None:
        connection: Connection | None = None
        while (job := self._jobs.get()) is not None:
            try:
                if connection is None or connection.closed or connection.invalidated:
                    with translate_errors():
                        connection = self._engine.connect()
                run = _each_alone if job.alone else _in_transaction
                result = run(connection, job.work)
            except BaseException as exc:  # handed to the awaiting coroutine, not lost here
                self._finished()
                job.fail(exc)
            else:
                self._finished()
                job.succeed(result)
        if connection is not None:
            connection.close()

    def _finished(self) -> None:
        """This thread is done with its job: before the outcome is sent, so that the loop
        sees it no longer busy as soon as it sees the outcome."""
        with self._lock:
            self._idle += 1
            self._pending -= 1


@dataclass(frozen=True)
class _Job(Generic[T]):
    """One transaction to run, and where to send its outcome."""

    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[T]
    work: Work[T]
    alone: bool = False

    def succeed(self, result: T) -> None:
        self._on_loop(_set_result, self.future, result)

    def fail(self, error: BaseException) -> None:
        self._on_loop(_set_exception, self.future, error)

    def _on_loop(self, callback: Callable[..., None], *args: Any) -> None:
        with contextlib.suppress(RuntimeError):  # a closed loop: nobody is waiting any more
            self.loop.call_soon_threadsafe(callback, *args)


def _set_result(future: asyncio.Future[T], result: T) -> None:
    if not future.cancelled():
        future.set_result(result)


def _set_exception(future: asyncio.Future[Any], error: BaseException) -> None:
    if not future.cancelled():
        future.set_exception(error)


def _in_transaction(connection: Connection, work: Work[T]) -> T:
    with translate_errors(), connection.begin():
        return work(connection)


def _each_alone(connection: Connection, work: Work[T]) -> T:
    """``work`` with the driver in autocommit: psycopg then sends no ``BEGIN``, and the
    ``COMMIT`` SQLAlchemy asks for at the end is a no-op on an idle connection."""
    driver: Any = connection.connection.driver_connection
    driver.autocommit = True
    try:
        return _in_transaction(connection, work)
    finally:
        with contextlib.suppress(Exception):  # a broken connection is replaced on next use
            driver.autocommit = False


class PostgresDatabase(Database):
    """psycopg on threads that each keep a connection; reads and writes share them."""

    dialect = "postgresql"

    def __init__(self, url: str, pool_size: int = 10, max_overflow: int = 10) -> None:
        connections = pool_size + max_overflow
        # A connect time-out: a server that accepts but never answers (a stalled network)
        # is then a 503 after that long, not a request that hangs until the client gives up.
        engine = create_sync_engine(
            sync_url(url),
            pool_size=connections,
            max_overflow=0,
            pool_pre_ping=True,
            connect_args={"connect_timeout": POSTGRES_CONNECT_TIMEOUT_SECONDS},
        )
        shared = _ThreadConnections(engine, connections, "filegate-postgres")
        super().__init__(url, shared, shared)

    async def write_alone(self, work: Work[T]) -> T:
        self.transactions.add("write")
        return await self._writer.run(work, alone=True)


def open_database(url: str, pool_size: int = 10, max_overflow: int = 10) -> Database:
    """The :class:`Database` of a filegate ``sqlite://`` or ``postgresql://`` URL."""
    backend = make_url(url).get_backend_name()
    if backend == "sqlite":
        return SqliteDatabase(url)
    if backend == "postgresql":
        return PostgresDatabase(url, pool_size, max_overflow)
    raise ValueError(f"unsupported database URL scheme: {make_url(url).drivername!r}")


def _sqlite_engine(
    url: str,
    begin: str,
    *,
    query_only: bool,
    threads: int,
    busy_ms: int = SQLITE_BUSY_TIMEOUT_MS,
    checkpoints: bool = True,
) -> Engine:
    """A pysqlite engine with one connection per thread, opening transactions with ``begin``
    and waiting up to ``busy_ms`` for a lock; ``checkpoints=False``: its commits never run
    SQLite's automatic WAL checkpoint (its fsyncs)."""
    engine = create_sync_engine(
        make_url(sync_url(url)).set(drivername=sqlite_dialect.DRIVERNAME),
        begin=begin,
        poolclass=SingletonThreadPool,
        pool_size=threads,
        connect_args={"timeout": busy_ms / 1000, "check_same_thread": False},
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _: ConnectionPoolEntry) -> None:
        dbapi_connection.isolation_level = None  # BEGIN is ours (the dialect's ``begin``)
        cursor = dbapi_connection.cursor()
        for pragma in _sqlite_pragmas(query_only, busy_ms, checkpoints):
            cursor.execute(pragma)
        cursor.close()
        register_sqlite_functions(dbapi_connection)

    return engine


def _sqlite_pragmas(query_only: bool, busy_ms: int, checkpoints: bool) -> list[str]:
    pragmas = [
        "PRAGMA journal_mode=WAL",
        "PRAGMA synchronous=NORMAL",
        f"PRAGMA busy_timeout={busy_ms}",
        "PRAGMA foreign_keys=ON",
    ]
    if query_only:
        pragmas.append("PRAGMA query_only=ON")
    if not checkpoints:
        pragmas.append("PRAGMA wal_autocheckpoint=0")
    return pragmas
