"""``queue``: the SQL queue on SQLite, one cycle = send_batch(10), receive(10), delete_batch.

filegate: ``SqlQueue`` on the engine filegate builds (aiosqlite under SQLAlchemy, WAL,
``BEGIN IMMEDIATE``). Baseline: the stdlib ``sqlite3`` module on the same table and
PRAGMAs doing the same three transactions with the fewest statements: insert the rows;
claim them (select, then update receipt, count and visibility); delete them by receipt.
Each side has its own freshly migrated database file.
"""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.harness import Result, interleave_async, per_second
from filegate.adapters.sql.database import open_database
from filegate.adapters.sql.migrate import migrate
from filegate.adapters.sql.queue import SqlQueue
from filegate.domain.clock import SystemClock
from filegate.domain.messages import encode_object_created
from filegate.domain.models import ObjectCreated

QUEUE_NAME = "bench"
BATCH = 10
VISIBILITY = timedelta(minutes=5)
BASELINE_IS = (
    "stdlib sqlite3, same table and PRAGMAs, same 3 transactions: "
    "INSERT 10 / SELECT+UPDATE 10 (claim) / DELETE 10"
)


@dataclass(frozen=True)
class Scale:
    cycles_per_repetition: int
    repetitions: int


FULL = Scale(cycles_per_repetition=100, repetitions=7)
QUICK = Scale(cycles_per_repetition=3, repetitions=1)


def run(quick: bool) -> list[Result]:
    scale = QUICK if quick else FULL
    with tempfile.TemporaryDirectory(prefix="bench-queue-") as tmp:
        ours, theirs = Path(tmp) / "filegate.db", Path(tmp) / "baseline.db"
        for path in (ours, theirs):
            migrate(f"sqlite:///{path}")
        return [asyncio.run(_measure(ours, theirs, scale))]


async def _measure(ours: Path, theirs: Path, scale: Scale) -> Result:
    bodies = [_event_body(index) for index in range(BATCH)]
    messages = scale.cycles_per_repetition * BATCH
    engine = open_database(f"sqlite:///{ours}")
    queue = SqlQueue(engine, SystemClock(), name=QUEUE_NAME)
    try:
        with _raw_connection(theirs) as connection:

            async def filegate() -> float:
                started = time.perf_counter()
                for _ in range(scale.cycles_per_repetition):
                    await _filegate_cycle(queue, bodies)
                return per_second(messages, time.perf_counter() - started)

            async def baseline() -> float:
                started = time.perf_counter()
                for _ in range(scale.cycles_per_repetition):
                    _raw_cycle(connection, bodies)
                return per_second(messages, time.perf_counter() - started)

            medians = await interleave_async(filegate, baseline, scale.repetitions)
    finally:
        await engine.dispose()
    return Result("queue", "msg/s", medians.filegate, medians.baseline, BASELINE_IS)


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


def _timestamp(moment: datetime) -> str:
    """How SQLAlchemy stores a UTC datetime in SQLite: naive, microseconds."""
    return moment.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
