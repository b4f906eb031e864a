"""The real Consumer loop over the in-memory queue and the SQL queue on SQLite.

Real (short) time: the loop long-polls and gathers batches in real time. Every wait is
bounded by a condition, never a fixed sleep long enough to "be sure".
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import inspect
import logging
import os
import signal
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import timedelta
from typing import Any

import pytest

from filegate.adapters.memory import MemoryQueue
from filegate.adapters.sql.database import open_database
from filegate.adapters.sql.queue import SqlQueue
from filegate.domain.clock import SystemClock
from filegate.domain.errors import BackendUnavailable
from filegate.domain.messages import encode_object_created
from filegate.domain.models import Message, ObjectCreated, QueueDepth, VisibilityChange
from filegate.domain.ports import Queue
from filegate.worker.batch import BatchProcessor
from filegate.worker.consumer import Consumer, ConsumerConfig, install_signal_handlers
from filegate.worker.retry import RetryPolicy

MS = timedelta(milliseconds=1)
CONFIG = ConsumerConfig(
    batch_size=10,
    batch_window=20 * MS,
    visibility_timeout=timedelta(seconds=30),
    concurrency=2,
    shutdown_grace=timedelta(seconds=2),
    poll_wait=20 * MS,
    receive_backoff=RetryPolicy(base=MS, cap=10 * MS),
)
RETRY = RetryPolicy(base=timedelta(seconds=1), cap=timedelta(seconds=10))


@pytest.fixture(params=["memory", "sqlite"])
async def queue(request: pytest.FixtureRequest) -> AsyncIterator[Queue]:
    if request.param == "memory":
        yield MemoryQueue()
        return
    database = open_database(request.getfixturevalue("sqlite_url"))
    yield SqlQueue(database, SystemClock(), "events", max_receives=5, poll_interval=5 * MS)
    await database.dispose()


class RecordingHandler:
    """An EventHandler that records what it handles, how many run at once, and can hang."""

    def __init__(self, delay: float = 0.0, hold: asyncio.Event | None = None) -> None:
        self.delay = delay
        self.hold = hold
        self.started: list[str] = []
        self.finished: list[str] = []
        self.cancelled = 0
        self.running = 0
        self.peak = 0

    async def handle(self, event: ObjectCreated) -> None:
        self.started.append(event.key)
        self.running += 1
        self.peak = max(self.peak, self.running)
        try:
            if self.hold is not None:
                await self.hold.wait()
            await asyncio.sleep(self.delay)
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        finally:
            self.running -= 1
        self.finished.append(event.key)


class WatchedQueue:
    """A Queue that counts the receives it was asked for and the receives that returned
    (with or without messages), around a real one."""

    def __init__(self, inner: Queue) -> None:
        self._inner = inner
        self.receives_started = 0
        self.receives_returned = 0

    async def send_batch(self, bodies: Sequence[str]) -> None:
        await self._inner.send_batch(bodies)

    async def receive(
        self, max_messages: int, visibility_timeout: timedelta, wait: timedelta
    ) -> list[Message]:
        self.receives_started += 1
        messages = await self._inner.receive(max_messages, visibility_timeout, wait)
        self.receives_returned += 1
        return messages

    async def delete_batch(self, receipts: Sequence[str]) -> None:
        await self._inner.delete_batch(receipts)

    async def change_visibility_batch(self, changes: Sequence[VisibilityChange]) -> None:
        await self._inner.change_visibility_batch(changes)

    async def dead_letter(self, message: Message, reason: str) -> None:
        await self._inner.dead_letter(message, reason)

    async def depth(self) -> QueueDepth:
        return await self._inner.depth()


class FlakyReceiveQueue(WatchedQueue):
    """Fault injection: a Queue whose first receives raise, then behave."""

    def __init__(self, inner: Queue, failures: int, error: type[Exception]) -> None:
        super().__init__(inner)
        self.failures_left = failures
        self._error = error

    async def receive(
        self, max_messages: int, visibility_timeout: timedelta, wait: timedelta
    ) -> list[Message]:
        if self.failures_left:
            self.failures_left -= 1
            raise self._error("injected receive failure")
        return await super().receive(max_messages, visibility_timeout, wait)


def keys(n: int) -> list[str]:
    return [f"owner/file-{i:03d}" for i in range(n)]


async def send(queue: Queue, names: list[str]) -> None:
    await queue.send_batch([encode_object_created(ObjectCreated(k, 1, "e")) for k in names])


async def until(check: Callable[[], bool | Awaitable[bool]], timeout: float = 3.0) -> None:
    """Wait until ``check()`` holds; fail the test after ``timeout`` seconds."""
    async with asyncio.timeout(timeout):
        while True:
            outcome = check()
            if await outcome if inspect.isawaitable(outcome) else outcome:
                return
            await asyncio.sleep(0.005)


async def drained(queue: Queue) -> bool:
    depth = await queue.depth()
    return (depth.visible, depth.in_flight) == (0, 0)


@contextlib.asynccontextmanager
async def running(
    queue: Queue, handler: RecordingHandler, config: ConsumerConfig = CONFIG, **processor: Any
) -> AsyncIterator[tuple[asyncio.Event, asyncio.Task[None]]]:
    """The consumer running in a task; stopped (and awaited) on exit."""
    stop = asyncio.Event()
    consumer = Consumer(queue, BatchProcessor(handler, RETRY, **processor), config)
    task = asyncio.create_task(consumer.run(stop))
    try:
        yield stop, task
    finally:
        stop.set()
        async with asyncio.timeout(5):
            await task


def batch_sizes(caplog: pytest.LogCaptureFixture) -> list[int]:
    return [r.__dict__["batch_size"] for r in caplog.records if hasattr(r, "batch_size")]


async def test_processes_everything_sent(queue: Queue) -> None:
    handler = RecordingHandler()
    names = keys(25)
    async with running(queue, handler):
        await send(queue, names)
        await until(lambda: drained(queue))
    assert sorted(handler.finished) == names
    assert (await queue.depth()).dead == 0


async def test_batches_never_exceed_batch_size(
    queue: Queue, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="filegate.worker.batch")
    config = dataclasses.replace(CONFIG, batch_size=4)
    await send(queue, keys(18))
    async with running(queue, RecordingHandler(), config):
        await until(lambda: drained(queue))
    sizes = batch_sizes(caplog)
    assert sum(sizes) == 18
    assert max(sizes) == 4


async def test_a_partial_batch_waits_for_the_window_to_fill(
    queue: Queue, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="filegate.worker.batch")
    config = dataclasses.replace(CONFIG, batch_size=3, batch_window=timedelta(seconds=1))
    handler = RecordingHandler()
    async with running(queue, handler, config):
        await send(queue, keys(1))
        await until(lambda: _in_flight(queue))
        await send(queue, keys(3)[1:])
        await until(lambda: len(handler.finished) == 3)
    assert batch_sizes(caplog) == [3]


async def _in_flight(queue: Queue) -> bool:
    return (await queue.depth()).in_flight == 1


async def test_concurrent_batches_never_exceed_concurrency(queue: Queue) -> None:
    handler = RecordingHandler(delay=0.03)
    config = dataclasses.replace(CONFIG, batch_size=1, batch_window=timedelta(0), concurrency=2)
    await send(queue, keys(8))
    # One event at a time within a batch, so the handler's peak counts batches in flight.
    async with running(queue, handler, config, concurrency=1):
        await until(lambda: len(handler.finished) == 8)
    assert handler.peak == 2


async def test_graceful_stop_finishes_in_flight_work(queue: Queue) -> None:
    hold = asyncio.Event()
    handler = RecordingHandler(hold=hold)
    names = keys(3)
    await send(queue, names)
    watched = WatchedQueue(queue)
    async with running(watched, handler) as (stop, task):
        await until(lambda: len(handler.started) == 3)
        returned = watched.receives_returned
        stop.set()
        # A receive that returns after the stop hands the loop back its turn to stop.
        await until(lambda: watched.receives_returned > returned)
        assert not task.done()  # it stopped receiving, and waits for the batch in flight
        hold.set()
        async with asyncio.timeout(2):
            await task
    assert sorted(handler.finished) == names
    depth = await queue.depth()
    assert (depth.visible, depth.in_flight, depth.dead) == (0, 0, 0)


async def test_stop_after_the_grace_releases_stuck_messages(queue: Queue) -> None:
    handler = RecordingHandler(hold=asyncio.Event())  # never set: the handler is stuck
    config = dataclasses.replace(CONFIG, shutdown_grace=50 * MS)
    await send(queue, keys(3))
    async with running(queue, handler, config) as (stop, task):
        await until(lambda: len(handler.started) == 3)
        stop.set()
        async with asyncio.timeout(2):
            await task
    assert handler.cancelled == 3
    assert handler.finished == []
    depth = await queue.depth()
    assert (depth.visible, depth.in_flight, depth.dead) == (3, 0, 0)
    again = await queue.receive(10, timedelta(seconds=30), timedelta(0))
    assert sorted(m.receive_count for m in again) == [2, 2, 2]


async def test_cancelling_the_loop_releases_in_flight_messages(queue: Queue) -> None:
    handler = RecordingHandler(hold=asyncio.Event())
    await send(queue, keys(2))
    consumer = Consumer(queue, BatchProcessor(handler, RETRY), CONFIG)
    task = asyncio.create_task(consumer.run(asyncio.Event()))
    await until(lambda: len(handler.started) == 2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert handler.cancelled == 2
    assert (await queue.depth()).visible == 2


@pytest.mark.parametrize("error", [BackendUnavailable, RuntimeError])
async def test_receive_errors_do_not_kill_the_loop(queue: Queue, error: type[Exception]) -> None:
    flaky = FlakyReceiveQueue(queue, failures=3, error=error)
    handler = RecordingHandler()
    await send(queue, keys(5))
    async with running(flaky, handler) as (_stop, task):
        await until(lambda: drained(queue))
        assert not task.done()
    assert flaky.failures_left == 0
    assert sorted(handler.finished) == keys(5)


async def test_stop_while_idle_returns() -> None:
    stop = asyncio.Event()
    idle = WatchedQueue(MemoryQueue())
    consumer = Consumer(idle, BatchProcessor(RecordingHandler(), RETRY), CONFIG)
    task = asyncio.create_task(consumer.run(stop))
    await until(lambda: idle.receives_returned >= 1)  # polled the empty queue, and again
    stop.set()
    async with asyncio.timeout(1):
        await task


async def test_sigterm_and_sigint_set_the_stop_event() -> None:
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        stop = asyncio.Event()
        install_signal_handlers(stop)
        try:
            os.kill(os.getpid(), signum)
            async with asyncio.timeout(1):
                await stop.wait()
        finally:
            loop.remove_signal_handler(signal.SIGTERM)
            loop.remove_signal_handler(signal.SIGINT)


def test_config_refuses_batches_larger_than_sqs_allows() -> None:
    with pytest.raises(ValueError, match="batch_size"):
        ConsumerConfig(batch_size=11)
