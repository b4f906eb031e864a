"""The SQL queue under contention, on real SQLite and PostgreSQL.

Every claimer has its own database (its own connections), as workers on separate machines
would. The clock never moves, so a claim never times out during a test: a message handed
out twice would be a broken claim, not a redelivery.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections import Counter
from datetime import timedelta

import psycopg
import pytest

from filegate.adapters.sql import database as sql_database
from filegate.adapters.sql.database import open_database
from filegate.adapters.sql.queue import SqlQueue
from filegate.domain.clock import ManualClock
from filegate.domain.errors import BackendUnavailable
from filegate.domain.models import QueueDepth

MESSAGES = 200
CLAIMERS = 6
VISIBILITY = timedelta(minutes=5)
NO_WAIT = timedelta(0)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    url = request.getfixturevalue(f"{request.param}_url")
    assert isinstance(url, str)
    return url


class ClaimLog:
    """Who holds which message right now, and every claim ever made."""

    def __init__(self) -> None:
        self.holder: dict[str, int] = {}
        self.double_claims: list[str] = []
        self.claims: list[tuple[int, str, str]] = []  # claimer, message id, body

    def take(self, claimer: int, message_id: str, body: str) -> None:
        if message_id in self.holder:
            self.double_claims.append(message_id)
        self.holder[message_id] = claimer
        self.claims.append((claimer, message_id, body))

    def release(self, message_id: str) -> None:
        del self.holder[message_id]


async def run_claimer(url: str, clock: ManualClock, claimer: int, log: ClaimLog) -> None:
    """Receive 10 at a time, hold them across a yield, delete them; stop when none is left."""
    database = open_database(url, pool_size=2)
    queue = SqlQueue(database, clock)
    try:
        while batch := await queue.receive(10, VISIBILITY, NO_WAIT):
            for message in batch:
                log.take(claimer, message.id, message.body)
            await asyncio.sleep(0)  # let the other claimers run while these are held
            await queue.delete_batch([m.receipt for m in batch])
            for message in batch:
                log.release(message.id)
    finally:
        await database.dispose()


async def test_every_message_is_claimed_by_exactly_one_claimer(database_url: str) -> None:
    clock = ManualClock()
    database = open_database(database_url)
    queue = SqlQueue(database, clock)
    await queue.send_batch([f"m{i}" for i in range(MESSAGES)])
    log = ClaimLog()

    await asyncio.wait_for(
        asyncio.gather(*(run_claimer(database_url, clock, i, log) for i in range(CLAIMERS))),
        timeout=60,
    )

    assert log.double_claims == []
    assert Counter(Counter(mid for _, mid, _ in log.claims).values()) == {1: MESSAGES}
    assert sorted(body for _, _, body in log.claims) == sorted(f"m{i}" for i in range(MESSAGES))
    assert await queue.depth() == QueueDepth(0, 0, 0, None)
    await database.dispose()


@pytest.mark.postgres
async def test_claim_skips_rows_locked_by_another_transaction(postgres_url: str) -> None:
    clock = ManualClock()
    database = open_database(postgres_url)
    queue = SqlQueue(database, clock)
    await queue.send_batch([f"m{i}" for i in range(6)])
    locked = ["m0", "m1", "m2"]

    async with await psycopg.AsyncConnection.connect(postgres_url) as locker:
        async with locker.transaction():
            await locker.execute(
                "SELECT id FROM queue_messages WHERE body = ANY(%s) FOR UPDATE", [locked]
            )
            await assert_locked(postgres_url, locked)
            during = await asyncio.wait_for(queue.receive(10, VISIBILITY, NO_WAIT), timeout=5)
        after = await queue.receive(10, VISIBILITY, NO_WAIT)

    assert sorted(m.body for m in during) == ["m3", "m4", "m5"]
    assert sorted(m.body for m in after) == locked
    await database.dispose()


async def assert_locked(url: str, bodies: list[str]) -> None:
    """Prove the rows really are locked: a third connection cannot lock them without waiting."""
    async with await psycopg.AsyncConnection.connect(url) as probe:
        with pytest.raises(psycopg.errors.LockNotAvailable):
            await probe.execute(
                "SELECT id FROM queue_messages WHERE body = ANY(%s) FOR UPDATE NOWAIT", [bodies]
            )


async def test_sqlite_lock_held_past_the_busy_timeout_is_backend_unavailable(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sql_database, "SQLITE_BUSY_TIMEOUT_MS", 100)  # instead of 30 s
    database = open_database(sqlite_url)
    queue = SqlQueue(database, ManualClock())
    blocker = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"), isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # holds SQLite's write lock
    try:
        with pytest.raises(BackendUnavailable) as raised:
            await queue.send_batch(["blocked"])
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
        await database.dispose()

    assert "locked" in str(raised.value.__cause__)


async def test_unreachable_postgres_is_backend_unavailable() -> None:
    database = open_database("postgresql://postgres@127.0.0.1:1/nowhere")
    queue = SqlQueue(database, ManualClock())

    with pytest.raises(BackendUnavailable) as raised:
        await queue.depth()

    assert raised.value.__cause__ is not None
    await database.dispose()
