"""The heartbeat keeps a slow batch claimed past its claim timeout, on every real queue.

Real time, short claims (2 s, the smallest whole number SQS takes with room to spare) and a
0.5 s heartbeat. A second consumer polls the whole time; its receives are counted, so "it saw
nothing" is proof, not the absence of a check.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack
from datetime import timedelta

import pytest

from filegate.adapters.sql.database import open_database
from filegate.adapters.sql.queue import SqlQueue
from filegate.adapters.sqs.provisioning import ensure_queues
from filegate.adapters.sqs.queue import SqsTuning, connect_sqs_queue
from filegate.adapters.sqs.url import SqsLocation
from filegate.domain.clock import SystemClock
from filegate.domain.errors import BackendUnavailable
from filegate.domain.messages import encode_object_created
from filegate.domain.models import Message, ObjectCreated, QueueDepth, VisibilityChange
from filegate.domain.ports import Queue
from filegate.worker.batch import BatchProcessor
from filegate.worker.consumer import Consumer, ConsumerConfig
from filegate.worker.retry import RetryPolicy
from tests.support.moto_server import REGION, aio_session

CLAIM = timedelta(seconds=2)
BEAT = timedelta(milliseconds=500)
MS = timedelta(milliseconds=1)
RETRY = RetryPolicy(base=timedelta(seconds=1), cap=timedelta(seconds=10))


def config(heartbeat: timedelta | None) -> ConsumerConfig:
    return ConsumerConfig(
        batch_size=10,
        batch_window=20 * MS,
        visibility_timeout=CLAIM,
        heartbeat_interval=heartbeat,
        shutdown_grace=timedelta(seconds=1),
        poll_wait=50 * MS,
        receive_backoff=RetryPolicy(base=MS, cap=10 * MS),
    )


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres), "sqs"])
async def queue(request: pytest.FixtureRequest) -> AsyncIterator[Queue]:
    async with AsyncExitStack() as stack:
        if request.param == "sqs":
            endpoint = request.getfixturevalue("moto_endpoint")
            client = await stack.enter_async_context(
                aio_session().create_client("sqs", endpoint_url=endpoint, region_name=REGION)
            )
            name = f"beat-{uuid.uuid4().hex[:12]}"
            await ensure_queues(client, name, CLAIM, 5)
            location = SqsLocation(name, endpoint, REGION)
            yield await connect_sqs_queue(client, location, SqsTuning())
            return
        database = open_database(request.getfixturevalue(f"{request.param}_url"))
        stack.push_async_callback(database.dispose)
        queue = SqlQueue(database, SystemClock(), "events", max_receives=5, poll_interval=20 * MS)
        stack.push_async_callback(queue.signals.close)
        yield queue


class SlowHandler:
    """Holds every event until released; records what started and finished."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.started = asyncio.Event()
        self.finished: list[str] = []

    async def handle(self, event: ObjectCreated) -> None:
        self.started.set()
        await self.release.wait()
        self.finished.append(event.key)


class BeatCountingQueue:
    """A real queue that counts the visibility changes passing through (the heartbeats)."""

    def __init__(self, inner: Queue, failing: int = 0) -> None:
        self._inner = inner
        self.changes = 0
        self.failing = failing
        """The first ``failing`` changes raise, as a queue that is down would."""

    async def send_batch(self, bodies: Sequence[str]) -> None:
        await self._inner.send_batch(bodies)

    async def receive(
        self, max_messages: int, visibility_timeout: timedelta, wait: timedelta
    ) -> list[Message]:
        return await self._inner.receive(max_messages, visibility_timeout, wait)

    async def delete_batch(self, receipts: Sequence[str]) -> None:
        await self._inner.delete_batch(receipts)

    async def change_visibility_batch(self, changes: Sequence[VisibilityChange]) -> None:
        self.changes += 1
        if self.changes <= self.failing:
            raise BackendUnavailable("queue down (injected)")
        await self._inner.change_visibility_batch(changes)

    async def dead_letter(self, message: Message, reason: str) -> None:
        await self._inner.dead_letter(message, reason)

    async def depth(self) -> QueueDepth:
        return await self._inner.depth()


async def observe(queue: Queue, seconds: float) -> tuple[int, list[Message]]:
    """Poll like another worker for ``seconds``: how many receives, and what they got."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    receives, got = 0, list[Message]()
    while loop.time() < deadline and not got:
        got += await queue.receive(10, CLAIM, timedelta(0))
        receives += 1
        await asyncio.sleep(0.1)
    return receives, got


async def hold_and_observe(
    queue: Queue, heartbeat: timedelta | None, failing: int = 0
) -> tuple[SlowHandler, BeatCountingQueue, int, list[Message]]:
    handler = SlowHandler()
    counted = BeatCountingQueue(queue, failing)
    await queue.send_batch([encode_object_created(ObjectCreated("owner/slow", 1, "e"))])
    stop = asyncio.Event()
    consumer = Consumer(counted, BatchProcessor(handler, RETRY), config(heartbeat))
    task = asyncio.create_task(consumer.run(stop))
    try:
        async with asyncio.timeout(10):
            await handler.started.wait()
        receives, got = await observe(queue, 2.5 * CLAIM.total_seconds())
        handler.release.set()
    finally:
        stop.set()
        async with asyncio.timeout(10):
            await task
    return handler, counted, receives, got


async def test_heartbeat_keeps_a_slow_batch_invisible_past_its_claim(queue: Queue) -> None:
    handler, counted, receives, got = await hold_and_observe(queue, BEAT)

    assert got == []
    assert receives >= 20  # the other consumer really polled through 2.5 claim timeouts
    assert counted.changes >= 8  # ~10 beats in 5 s (a beat every 0.5 s)
    assert handler.finished == ["owner/slow"]


async def test_without_heartbeat_the_other_consumer_takes_the_slow_message(
    queue: Queue,
) -> None:
    """The control: the same set-up with no heartbeat loses the claim after CLAIM."""
    _handler, counted, _receives, got = await hold_and_observe(queue, None)

    assert [m.body for m in got] == [encode_object_created(ObjectCreated("owner/slow", 1, "e"))]
    assert counted.changes == 0


async def test_failed_beats_are_logged_and_retried_without_harming_the_batch(
    queue: Queue, caplog: pytest.LogCaptureFixture
) -> None:
    """The first two beats fail (1 s of a 2 s claim): the next ones renew it in time."""
    handler, counted, receives, got = await hold_and_observe(queue, BEAT, failing=2)

    assert got == []
    assert receives >= 20
    assert counted.changes >= 8
    assert sum("heartbeat failed" in r.getMessage() for r in caplog.records) == 2
    assert handler.finished == ["owner/slow"]
