"""``queue``: the SQL queue, one cycle = send_batch(10), receive(10), delete_batch.

filegate: ``SqlQueue`` on the ``Database`` filegate builds, on SQLite (the writer thread,
WAL, ``BEGIN IMMEDIATE``) and, when reachable, PostgreSQL. Baselines, on the
same table (a freshly migrated database of their own) and the same kind of database, do
the same cycle with the fewest statements: on SQLite the stdlib ``sqlite3`` module with
the same PRAGMAs and three transactions (insert the rows; select and update them, the
claim; delete them by receipt); on PostgreSQL one psycopg async connection, inserting in
one transaction, claiming with one ``UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP
LOCKED) RETURNING``, deleting with one ``DELETE … = ANY(receipts)``.
"""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

from bench import databases
from bench.harness import Result, interleave_async, per_second
from filegate.adapters.sql.database import open_database
from filegate.adapters.sql.queue import SqlQueue
from filegate.domain.clock import SystemClock
from filegate.domain.messages import encode_object_created
from filegate.domain.models import ObjectCreated

QUEUE_NAME = "bench"
BATCH = 10
VISIBILITY = timedelta(minutes=5)
BASELINE_IS = {
    databases.SQLITE: (
        "stdlib sqlite3, same table and PRAGMAs, same 3 transactions: "
        "INSERT 10 / SELECT+UPDATE 10 (claim) / DELETE 10"
    ),
    databases.POSTGRES: (
        "psycopg, same table: INSERT 10 in one transaction / one UPDATE … "
        "FOR UPDATE SKIP LOCKED … RETURNING (claim) / one DELETE"
    ),
}

Cycle = Callable[[list[str]], Awaitable[None]]
"""Sends the bodies, receives them all back, deletes them."""


@dataclass(frozen=True)
class Scale:
    cycles_per_repetition: int
    repetitions: int


FULL = Scale(cycles_per_repetition=40, repetitions=7)
QUICK = Scale(cycles_per_repetition=3, repetitions=1)


def run(quick: bool) -> list[Result]:
    scale = QUICK if quick else FULL
    return [_run_on(kind, scale) for kind in databases.kinds()]


def _run_on(kind: str, scale: Scale) -> Result:
    with tempfile.TemporaryDirectory(prefix="bench-queue-") as tmp:
        folder = Path(tmp)
        with (
            databases.scratch(kind, folder, "queue_filegate") as ours,
            databases.scratch(kind, folder, "queue_bare") as theirs,
        ):
            return asyncio.run(_measure(kind, ours, theirs, scale))


async def _measure(kind: str, ours: str, theirs: str, scale: Scale) -> Result:
    bodies = [_event_body(index) for index in range(BATCH)]
    messages = scale.cycles_per_repetition * BATCH

    def rate_of(cycle: Cycle) -> Callable[[], Awaitable[float]]:
        async def rate() -> float:
            started = time.perf_counter()
            for _ in range(scale.cycles_per_repetition):
                await cycle(bodies)
            return per_second(messages, time.perf_counter() - started)

        return rate

    async with _filegate_queue(ours) as queue, _baseline_cycle(kind, theirs) as baseline:
        medians = await interleave_async(
            rate_of(lambda b: _filegate_cycle(queue, b)), rate_of(baseline), scale.repetitions
        )
    return Result.of(f"queue {kind}", "msg/s", medians, BASELINE_IS[kind])


@asynccontextmanager
async def _filegate_queue(url: str) -> AsyncIterator[SqlQueue]:
    """filegate's queue on ``url``, built as the service builds it (the one place to change)."""
    database = open_database(url)
    try:
        yield SqlQueue(database, SystemClock(), name=QUEUE_NAME)
    finally:
        await database.dispose()


@asynccontextmanager
async def _baseline_cycle(kind: str, url: str) -> AsyncIterator[Cycle]:
    if kind == databases.SQLITE:
        with _raw_connection(Path(make_url(url).database or "")) as connection:

            async def sqlite_cycle(bodies: list[str]) -> None:
                _raw_cycle(connection, bodies)

            yield sqlite_cycle
        return
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as pg:
        yield lambda bodies: _postgres_cycle(pg, bodies)


def _event_body(index: int) -> str:
    key = f"{'0' * 16}/{uuid.uuid4().hex}"
    etag = hashlib.sha256(index.to_bytes(8, "big")).hexdigest()
    return encode_object_created(ObjectCreated(key, 2_483_117, etag))


async def _filegate_cycle(queue: SqlQueue, bodies: list[str]) -> None:
    await queue.send_batch(bodies)
    received = await queue.receive(len(bodies), VISIBILITY, timedelta(0))
    if len(received) != len(bodies):
        raise RuntimeError(f"received {len(received)} of {len(bodies)} messages")
    await queue.delete_batch([message.receipt for message in received])


@contextmanager
def _raw_connection(path: Path) -> Iterator[sqlite3.Connection]:
    connection = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=30000"):
        connection.execute(f"PRAGMA {pragma}")
    try:
        yield connection
    finally:
        connection.close()


@contextmanager
def _immediate(connection: sqlite3.Connection) -> Iterator[None]:
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")


def _raw_cycle(connection: sqlite3.Connection, bodies: list[str]) -> None:
    now = _timestamp(datetime.now(UTC))
    rows = [(uuid.uuid4().hex, QUEUE_NAME, body, now, now) for body in bodies]
    with _immediate(connection):
        connection.executemany(
            "INSERT INTO queue_messages (id, queue, body, sent_at, visible_at, receipt,"
            " receive_count, dead_reason) VALUES (?, ?, ?, ?, ?, NULL, 0, NULL)",
            rows,
        )
    receipts = _raw_claim(connection, len(bodies), now)
    if len(receipts) != len(bodies):
        raise RuntimeError(f"claimed {len(receipts)} of {len(bodies)} rows")
    with _immediate(connection):
        marks = ", ".join("?" * len(receipts))
        connection.execute(
            f"DELETE FROM queue_messages WHERE queue = ? AND receipt IN ({marks})",
            (QUEUE_NAME, *receipts),
        )


def _raw_claim(connection: sqlite3.Connection, limit: int, now: str) -> list[str]:
    until = _timestamp(datetime.now(UTC) + VISIBILITY)
    with _immediate(connection):
        claimed = connection.execute(
            "SELECT id, body, receive_count FROM queue_messages"
            " WHERE queue = ? AND visible_at <= ? ORDER BY sent_at, id LIMIT ?",
            (QUEUE_NAME, now, limit),
        ).fetchall()
        leases = [(uuid.uuid4().hex, until, row[0]) for row in claimed]
        connection.executemany(
            "UPDATE queue_messages SET receipt = ?, receive_count = receive_count + 1,"
            " visible_at = ? WHERE id = ?",
            leases,
        )
    return [receipt for receipt, _, _ in leases]


_PG_INSERT = (
    "INSERT INTO queue_messages (id, queue, body, sent_at, visible_at, receipt,"
    " receive_count, dead_reason) VALUES (%s, %s, %s, %s, %s, NULL, 0, NULL)"
)
_PG_CLAIM = (
    "UPDATE queue_messages SET receipt = md5(random()::text || id),"
    " receive_count = receive_count + 1, visible_at = %s"
    " WHERE id IN (SELECT id FROM queue_messages WHERE queue = %s AND visible_at <= %s"
    " ORDER BY sent_at, id LIMIT %s FOR UPDATE SKIP LOCKED)"
    " RETURNING id, body, receive_count, receipt"
)
_PG_DELETE = "DELETE FROM queue_messages WHERE queue = %s AND receipt = ANY(%s)"


async def _postgres_cycle(connection: psycopg.AsyncConnection[Any], bodies: list[str]) -> None:
    now = datetime.now(UTC)
    rows = [(uuid.uuid4().hex, QUEUE_NAME, body, now, now) for body in bodies]
    async with connection.transaction(), connection.cursor() as cursor:
        await cursor.executemany(_PG_INSERT, rows)
    claim = (now + VISIBILITY, QUEUE_NAME, now, len(bodies))
    claimed = await (await connection.execute(_PG_CLAIM, claim)).fetchall()
    if len(claimed) != len(bodies):
        raise RuntimeError(f"claimed {len(claimed)} of {len(bodies)} rows")
    receipts = [row[3] for row in claimed]
    await connection.execute(_PG_DELETE, (QUEUE_NAME, receipts))


def _timestamp(moment: datetime) -> str:
    """How SQLAlchemy stores a UTC datetime in SQLite: naive, microseconds."""
    return moment.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
