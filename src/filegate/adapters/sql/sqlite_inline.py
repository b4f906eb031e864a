"""Short SQLite write transactions run on the calling thread, when they need not wait.

A queue call (insert ten rows, claim ten, delete ten) costs SQLite less than the two thread
hand-offs that carry it to the writer thread of
:class:`~filegate.adapters.sql.database.SqliteDatabase` and back. :class:`InlineWriter`
runs such a transaction where it is asked for, on a connection of its own whose busy
timeout is zero: ``BEGIN IMMEDIATE`` then either takes the write lock at once or fails at
once (the writer thread or another process holds it), and the caller hands the work to the
writer thread as usual. It never waits for a lock, so the thread it runs on (the event
loop's) is held only for the transaction's own statements and its commit.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy import exc as sa_exc

from filegate.adapters.sql.errors import translate_errors

T = TypeVar("T")


@dataclass(frozen=True)
class Done(Generic[T]):
    """A transaction that ran to its end, and what its work returned."""

    value: T


class InlineWriter:
    """Runs a write transaction now, on the calling thread, unless it would have to wait.

    ``engine`` must open its connections with a zero busy timeout and begin transactions
    with ``BEGIN IMMEDIATE``. Each calling thread keeps a connection of its own (like the
    writer thread, to spare a pool checkout per transaction).
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._local = threading.local()
        self._lock = threading.Lock()
        self._opened: list[Connection] = []

    def try_run(self, work: Callable[[Connection], T]) -> Done[T] | None:
        """Run ``work`` in one transaction and commit; ``None`` (nothing ran) when the write
        lock is taken. Errors of the work, or of its commit, propagate as the writer
        thread's would (transient ones as ``BackendUnavailable``) after the rollback."""
        connection = self._connection()
        try:
            transaction = connection.begin()
        except sa_exc.OperationalError:  # busy (or broken: the writer thread will tell)
            return None
        with translate_errors(), transaction:
            return Done(work(connection))

    def close(self) -> None:
        """Close the connections (of every thread) and the engine."""
        with self._lock:
            opened, self._opened = self._opened, []
        for connection in opened:
            connection.close()
        self._engine.dispose()

    def _connection(self) -> Connection:
        connection: Connection | None = getattr(self._local, "connection", None)
        if connection is None or connection.closed or connection.invalidated:
            with translate_errors():
                connection = self._local.connection = self._engine.connect()
            with self._lock:
                self._opened.append(connection)
        return connection
