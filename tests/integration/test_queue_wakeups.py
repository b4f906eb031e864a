"""A waiting receive of the SQL queue wakes on a send instead of polling (SQLite, PostgreSQL).

The queues here look on their own only once a minute (``poll_interval``), far longer than
any wait of these tests: a receive that returns a message without a timed-out wait
(``signals.counts``) can only have been woken by the send's signal. The tests that prove the
other paths (another process on SQLite, a visibility timeout running out) assert the
opposite: no wake-up, a timed-out wait.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from datetime import timedelta

import psycopg
import pytest

from filegate.adapters.sql.database import Database, open_database
from filegate.adapters.sql.queue import SqlQueue
from filegate.adapters.sql.queue_signals import PostgresQueueSignals, QueueSignals, WaitCounts
from filegate.adapters.sql.repository import SqlRepository
from filegate.adapters.sql.upload_ledger import SqlUploadLedger
from filegate.domain.clock import ManualClock, SystemClock
from filegate.domain.models import Message, VisibilityChange
from filegate.domain.ports import Clock
from tests.support.records import make_record

NAME = "events"
VISIBILITY = timedelta(minutes=5)
NO_WAIT = timedelta(0)
LONG_WAIT = timedelta(seconds=30)
RARELY = timedelta(minutes=1)
"""An idle-poll interval no test waits for."""
GUARD_SECONDS = 10
"""Only against a hang: no test's outcome depends on it."""


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    url = request.getfixturevalue(f"{request.param}_url")
    assert isinstance(url, str)
    return url


@pytest.fixture
async def stack() -> AsyncIterator[AsyncExitStack]:
    async with AsyncExitStack() as stack:
        yield stack


def opened(url: str, stack: AsyncExitStack) -> Database:
    database = open_database(url)
    stack.push_async_callback(database.dispose)
    return database


def queue_on(
    database: Database, stack: AsyncExitStack, clock: Clock, poll: timedelta = RARELY
) -> SqlQueue:
    queue = SqlQueue(database, clock, NAME, poll_interval=poll, max_poll_interval=poll)
    stack.push_async_callback(queue.signals.close)
    return queue


async def listening(signals: QueueSignals) -> None:
    """On PostgreSQL, wait until the listener is subscribed (its first wake-all is past)."""
    if isinstance(signals, PostgresQueueSignals):
        signals.listen()
        async with asyncio.timeout(GUARD_SECONDS):
            await signals.listening.wait()


async def waiting_receive(queue: SqlQueue) -> asyncio.Task[list[Message]]:
    """A long-polling receive that has looked, found nothing, and waits."""
    await listening(queue.signals)
    task = asyncio.create_task(queue.receive(10, VISIBILITY, LONG_WAIT))
    async with asyncio.timeout(GUARD_SECONDS):
        while queue.signals.waiting(NAME) == 0:
            await asyncio.sleep(0.001)
    assert not task.done()
    return task


async def received(task: asyncio.Task[list[Message]]) -> list[str]:
    async with asyncio.timeout(GUARD_SECONDS):
        return [m.body for m in await task]


Wake = Callable[[Database, SqlQueue, ManualClock, Message | None], Awaitable[None]]
"""Makes "hello" visible; ``held`` is it, claimed before the wait, when the wake needs one."""


async def by_send(db: Database, queue: SqlQueue, clock: ManualClock, held: Message | None) -> None:
    await queue.send_batch(["hello"])


async def by_upload(
    db: Database, queue: SqlQueue, clock: ManualClock, held: Message | None
) -> None:
    record = await SqlRepository(db, clock).add(make_record(clock=clock))
    assert await SqlUploadLedger(db, clock, NAME).record_upload(record.id, "hello") is not None


async def by_release(
    db: Database, queue: SqlQueue, clock: ManualClock, held: Message | None
) -> None:
    assert held is not None
    await queue.change_visibility_batch([VisibilityChange(held.receipt, timedelta(0))])


async def by_redrive(
    db: Database, queue: SqlQueue, clock: ManualClock, held: Message | None
) -> None:
    assert held is not None
    await queue.dead_letter(held, "MALFORMED")
    assert await queue.redrive(10) == 1


HOLDING = (by_release, by_redrive)


@pytest.mark.parametrize("wake", [by_send, by_upload, *HOLDING])
async def test_a_waiting_receive_wakes_on_what_this_process_makes_visible(
    database_url: str, stack: AsyncExitStack, wake: Wake
) -> None:
    clock = ManualClock()
    database = opened(database_url, stack)
    queue = queue_on(database, stack, clock)
    held = None
    if wake in HOLDING:
        await queue.send_batch(["hello"])
        [held] = await queue.receive(10, VISIBILITY, NO_WAIT)
    waiting = await waiting_receive(queue)

    await wake(database, queue, clock, held)

    assert await received(waiting) == ["hello"]
    assert queue.signals.counts == WaitCounts(woken=1, timed_out=0)


@pytest.mark.postgres
async def test_a_send_from_another_database_wakes_the_receive_through_notify(
    postgres_url: str, stack: AsyncExitStack
) -> None:
    clock = ManualClock()
    receiver = queue_on(opened(postgres_url, stack), stack, clock)
    sender = queue_on(opened(postgres_url, stack), stack, clock)
    assert receiver.signals is not sender.signals  # nothing shared but the server
    waiting = await waiting_receive(receiver)

    await sender.send_batch(["from elsewhere"])

    assert await received(waiting) == ["from elsewhere"]
    assert receiver.signals.counts == WaitCounts(woken=1, timed_out=0)


@pytest.mark.postgres
async def test_the_listener_reconnects_after_its_connection_is_killed(
    postgres_url: str, stack: AsyncExitStack
) -> None:
    clock = ManualClock()
    receiver = queue_on(opened(postgres_url, stack), stack, clock)
    sender = queue_on(opened(postgres_url, stack), stack, clock)
    signals = receiver.signals
    assert isinstance(signals, PostgresQueueSignals)
    await listening(signals)

    await _kill_listeners(postgres_url)
    async with asyncio.timeout(GUARD_SECONDS):
        while signals.connects < 2 or not signals.listening.is_set():
            await asyncio.sleep(0.01)
    waiting = await waiting_receive(receiver)
    await sender.send_batch(["after the drop"])

    assert await received(waiting) == ["after the drop"]
    assert signals.counts.timed_out == 0


async def _kill_listeners(url: str) -> None:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as admin:
        cursor = await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND query LIKE 'LISTEN %'"
        )
        assert len(await cursor.fetchall()) == 1


async def test_on_sqlite_a_send_from_another_process_is_found_by_the_idle_poll(
    sqlite_url: str, stack: AsyncExitStack
) -> None:
    clock = ManualClock()
    receiver = queue_on(opened(sqlite_url, stack), stack, clock, poll=timedelta(milliseconds=20))
    sender = queue_on(opened(sqlite_url, stack), stack, clock)  # as another process would
    waiting = await waiting_receive(receiver)

    await sender.send_batch(["from elsewhere"])

    assert await received(waiting) == ["from elsewhere"]
    assert receiver.signals.counts.woken == 0
    assert receiver.signals.counts.timed_out >= 1


async def test_a_waiting_receive_looks_again_when_a_visibility_timeout_runs_out(
    database_url: str, stack: AsyncExitStack
) -> None:
    queue = queue_on(opened(database_url, stack), stack, SystemClock())
    await queue.send_batch(["hello"])
    [first] = await queue.receive(10, timedelta(milliseconds=200), NO_WAIT)
    waiting = await waiting_receive(queue)

    [again] = await asyncio.wait_for(waiting, GUARD_SECONDS)

    assert (again.id, again.receive_count) == (first.id, 2)
    # Not a wake-up, nor the once-a-minute poll: the wait ended when the timeout did.
    assert queue.signals.counts == WaitCounts(woken=0, timed_out=1)
