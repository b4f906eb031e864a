"""The Queue contract (SQS standard-queue semantics) and DeadLetters, for every adapter.

Two groups:

* Module-level tests run on every adapter: memory, SQLite, PostgreSQL and SQS (on moto's
  server). They never wait for a visibility timeout: a message comes back early when its
  receipt releases it (``change_visibility_batch`` to zero), which is immediate everywhere.
* :class:`TestMemoryAndSql` runs on the adapters whose time is the injected
  ``ManualClock`` and that promise more than SQS does. There, visibility timeouts pass when
  a test advances the clock (SQS's pass in real, whole seconds); messages come oldest
  first (SQS does not order); a stale receipt is ignored (SQS may still act on it); a
  long poll waits fractions of a second (SQS waits whole seconds).

Only the long-poll tests use (short) real waits, because a long-poll waits in real time;
they send once the receive has been seen to look for messages and find none (``Looks``).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from datetime import datetime, timedelta
from typing import Protocol

import pytest

from filegate.adapters.memory import MemoryQueue
from filegate.adapters.sql.database import open_database
from filegate.adapters.sql.queue import SqlQueue
from filegate.adapters.sqs.provisioning import ensure_queues
from filegate.adapters.sqs.queue import SqsTuning, connect_sqs_queue
from filegate.adapters.sqs.url import SqsLocation
from filegate.domain.clock import ManualClock
from filegate.domain.models import Message, QueueDepth, VisibilityChange
from filegate.domain.ports import DeadLetters, Queue
from tests.support.moto_server import REGION, aio_session

MAX_RECEIVES = 3
VISIBILITY = timedelta(seconds=30)
NO_WAIT = timedelta(0)
TICK = timedelta(microseconds=1)
NOW = timedelta(0)

POSTGRES = pytest.param("postgres", marks=pytest.mark.postgres)
MEMORY_AND_SQL = ["memory", "sqlite", POSTGRES]
EVERY_ADAPTER = [*MEMORY_AND_SQL, "sqs"]


class DeadLetterQueue(Queue, DeadLetters, Protocol):
    """A queue with the dead-letter capability (every adapter under test has it)."""


QueueFactory = Callable[[str], Awaitable[DeadLetterQueue]]


class Looks:
    """How often receives have looked for visible messages, as far as a test can see.

    The memory and SQL queues read their clock once per look (other calls read it too:
    count only while a receive is all that runs); an SQS receive is one ReceiveMessage
    request sent (its wait happens on the server). ``to_be_waiting`` looks prove that a
    receive found nothing and waits for more: a second look where the first may still
    be running when counted (a clock read starts it), the first where its wait is remote.
    """

    def __init__(self) -> None:
        self.count = 0
        self.to_be_waiting = 2

    def seen(self, **_: object) -> None:
        self.count += 1


class LookCountingClock(ManualClock):
    """A ManualClock that counts its reads as looks."""

    def __init__(self, looks: Looks) -> None:
        super().__init__()
        self._looks = looks

    def now(self) -> datetime:
        self._looks.seen()
        return super().now()


@pytest.fixture
def looks() -> Looks:
    return Looks()


@pytest.fixture
def clock(looks: Looks) -> ManualClock:
    return LookCountingClock(looks)


async def _factories(
    kind: str, request: pytest.FixtureRequest, clock: ManualClock, stack: AsyncExitStack
) -> QueueFactory:
    """Builds queues by name, all of one adapter, sharing one database (or server)."""
    if kind == "memory":

        async def memory(_name: str) -> DeadLetterQueue:
            return MemoryQueue(max_receives=MAX_RECEIVES, clock=clock)

        return memory
    if kind == "sqs":
        looks = request.getfixturevalue("looks")
        return await _sqs_factory(request.getfixturevalue("moto_endpoint"), stack, looks)
    database = open_database(request.getfixturevalue(f"{kind}_url"))
    stack.push_async_callback(database.dispose)
    poll = timedelta(milliseconds=20)

    async def sql(name: str) -> DeadLetterQueue:
        queue = SqlQueue(database, clock, name, MAX_RECEIVES, poll_interval=poll)
        stack.push_async_callback(queue.signals.close)
        return queue

    return sql


async def _sqs_factory(endpoint: str, stack: AsyncExitStack, looks: Looks) -> QueueFactory:
    """Fresh queues (and DLQs, redrive after MAX_RECEIVES) on the shared moto server."""
    client = await stack.enter_async_context(
        aio_session().create_client("sqs", endpoint_url=endpoint, region_name=REGION)
    )
    client.meta.events.register("before-send.sqs.ReceiveMessage", looks.seen)
    looks.to_be_waiting = 1
    tuning = SqsTuning(dead_letter_wait=NO_WAIT)

    async def sqs(name: str) -> DeadLetterQueue:
        unique = f"{name}-{uuid.uuid4().hex[:12]}"
        await ensure_queues(client, unique, VISIBILITY, MAX_RECEIVES)
        return await connect_sqs_queue(client, SqsLocation(unique, endpoint, REGION), tuning)

    return sqs


@pytest.fixture(params=EVERY_ADAPTER)
async def make_queue(
    request: pytest.FixtureRequest, clock: ManualClock
) -> AsyncIterator[QueueFactory]:
    async with AsyncExitStack() as stack:
        yield await _factories(request.param, request, clock, stack)


@pytest.fixture
async def queue(make_queue: QueueFactory) -> DeadLetterQueue:
    return await make_queue("events")


async def receive(queue: Queue, max_messages: int = 10) -> list[Message]:
    return await queue.receive(max_messages, VISIBILITY, NO_WAIT)


async def receive_one(queue: Queue) -> Message:
    messages = await receive(queue, 1)
    assert len(messages) == 1
    return messages[0]


async def release(queue: Queue, message: Message) -> None:
    """Make a claimed message visible again now (the portable "its timeout passed")."""
    await queue.change_visibility_batch([VisibilityChange(message.receipt, NOW)])


def counts(depth: QueueDepth) -> tuple[int, int, int]:
    """Visible, in flight, dead: what every adapter reports (SQS has no oldest age)."""
    return depth.visible, depth.in_flight, depth.dead


async def _bury(queue: DeadLetterQueue, bodies: list[str]) -> None:
    """Send the bodies, then dead-letter them all."""
    await queue.send_batch(bodies)
    for message in await receive(queue):
        await queue.dead_letter(message, "MALFORMED")


async def _receive_until_dead(queue: DeadLetterQueue, body: str) -> None:
    """Send ``body`` and receive it ``MAX_RECEIVES`` times, releasing it after each."""
    await queue.send_batch([body])
    for count in range(1, MAX_RECEIVES + 1):
        message = await receive_one(queue)
        assert message.receive_count == count
        await release(queue, message)


async def test_round_trip_keeps_every_body_exactly(queue: DeadLetterQueue) -> None:
    bodies = [
        "plain",
        "ünïcödé 🌍 世界 \"double\" 'single' ; DROP TABLE queue_messages; --",
        '{"json": [1, 2, {"nested": null}]}',
        "é" + "x" * 200_000 + "🌍",
    ]
    await queue.send_batch(bodies)

    received = await receive(queue)

    assert sorted(m.body for m in received) == sorted(bodies)
    assert all(m.receive_count == 1 for m in received)
    assert len({m.id for m in received}) == len({m.receipt for m in received}) == len(bodies)


async def test_sending_nothing_is_a_no_op(queue: DeadLetterQueue) -> None:
    await queue.send_batch([])

    assert await queue.depth() == QueueDepth(0, 0, 0, None)


async def test_send_batch_of_more_than_ten_sends_them_all(queue: DeadLetterQueue) -> None:
    bodies = [f"m{i:02d}" for i in range(23)]

    await queue.send_batch(bodies)

    received = [m for _ in range(3) for m in await receive(queue)]
    assert sorted(m.body for m in received) == bodies


async def test_receive_returns_at_most_max_messages(queue: DeadLetterQueue) -> None:
    await queue.send_batch([f"m{i}" for i in range(7)])

    first = await receive(queue, 3)
    rest = await receive(queue, 10)

    assert len(first) == 3
    assert len(rest) == 4
    assert {m.id for m in first}.isdisjoint(m.id for m in rest)
    assert await receive(queue) == []


async def test_delete_with_current_receipt_removes_the_message(queue: DeadLetterQueue) -> None:
    await queue.send_batch(["a", "b", "c"])
    messages = await receive(queue)
    b = next(m for m in messages if m.body == "b")

    await queue.delete_batch([m.receipt for m in messages if m.body != "b"])

    assert counts(await queue.depth()) == (0, 1, 0)
    await release(queue, b)
    assert [m.body for m in await receive(queue)] == ["b"]


async def test_delete_of_no_receipts_is_a_no_op(queue: DeadLetterQueue) -> None:
    await queue.send_batch(["hello"])

    await queue.delete_batch([])

    assert (await queue.depth()).visible == 1


async def test_delete_of_an_already_deleted_message_is_not_an_error(
    queue: DeadLetterQueue,
) -> None:
    await queue.send_batch(["gone", "kept"])
    gone, kept = sorted(await receive(queue), key=lambda m: m.body)
    await queue.delete_batch([gone.receipt])

    await queue.delete_batch([gone.receipt, kept.receipt])

    assert counts(await queue.depth()) == (0, 0, 0)


async def test_change_visibility_batch_to_zero_makes_the_message_visible_now(
    queue: DeadLetterQueue,
) -> None:
    await queue.send_batch(["hello"])
    first = await receive_one(queue)

    await queue.change_visibility_batch([VisibilityChange(first.receipt, timedelta(0))])
    again = await receive_one(queue)

    assert again.id == first.id
    assert again.receipt != first.receipt
    assert again.receive_count == 2


async def test_change_visibility_batch_applies_each_change(queue: DeadLetterQueue) -> None:
    await queue.send_batch(["now-1", "later", "now-2"])
    by_body = {m.body: m for m in await receive(queue)}

    await queue.change_visibility_batch(
        [
            VisibilityChange(by_body["now-1"].receipt, NOW),
            VisibilityChange(by_body["later"].receipt, 2 * VISIBILITY),
            VisibilityChange(by_body["now-2"].receipt, NOW),
        ]
    )

    again = await receive(queue)
    assert sorted(m.body for m in again) == ["now-1", "now-2"]
    assert all(m.receive_count == 2 for m in again)
    assert counts(await queue.depth()) == (0, 3, 0)


async def test_change_visibility_batch_of_nothing_is_a_no_op(queue: DeadLetterQueue) -> None:
    await queue.send_batch(["hello"])
    await receive_one(queue)

    await queue.change_visibility_batch([])

    assert counts(await queue.depth()) == (0, 1, 0)


async def test_change_visibility_batch_of_more_than_ten_changes_them_all(
    queue: DeadLetterQueue,
) -> None:
    await queue.send_batch([f"m{i:02d}" for i in range(23)])
    claimed = [m for _ in range(3) for m in await receive(queue)]
    assert len(claimed) == 23

    await queue.change_visibility_batch([VisibilityChange(m.receipt, NOW) for m in claimed])

    again = [m for _ in range(3) for m in await receive(queue)]
    assert sorted(m.id for m in again) == sorted(m.id for m in claimed)
    assert {m.receive_count for m in again} == {2}


async def test_change_visibility_batch_skips_a_deleted_message_and_changes_the_rest(
    queue: DeadLetterQueue,
) -> None:
    await queue.send_batch(["deleted", "kept"])
    deleted, kept = sorted(await receive(queue), key=lambda m: m.body)
    await queue.delete_batch([deleted.receipt])

    await queue.change_visibility_batch(
        [VisibilityChange(deleted.receipt, NOW), VisibilityChange(kept.receipt, NOW)]
    )

    assert [m.id for m in await receive(queue)] == [kept.id]


async def test_change_visibility_batch_gives_a_receipt_named_twice_its_last_delay(
    queue: DeadLetterQueue,
) -> None:
    await queue.send_batch(["hello"])
    message = await receive_one(queue)

    await queue.change_visibility_batch(
        [VisibilityChange(message.receipt, 2 * VISIBILITY), VisibilityChange(message.receipt, NOW)]
    )

    assert (await receive_one(queue)).id == message.id


async def test_message_received_max_receives_times_is_dead_lettered_on_next_receive(
    queue: DeadLetterQueue,
) -> None:
    await _receive_until_dead(queue, "poison")

    assert await receive(queue) == []

    assert await queue.depth() == QueueDepth(0, 0, 1, None)
    [dead] = await queue.list_dead(10)
    assert (dead.body, dead.reason, dead.receive_count) == ("poison", "MAX_RECEIVES", MAX_RECEIVES)


async def test_dead_lettered_message_does_not_take_a_live_ones_place(
    queue: DeadLetterQueue, clock: ManualClock
) -> None:
    await _receive_until_dead(queue, "poison")
    clock.advance(timedelta(seconds=1))  # the poison comes first where order is by send time
    await queue.send_batch(["fresh"])

    assert [m.body for m in await receive(queue, 1)] == ["fresh"]
    assert (await queue.depth()).dead == 1


async def test_zero_visibility_timeout_returns_each_message_once_per_receive(
    queue: DeadLetterQueue,
) -> None:
    await _receive_until_dead(queue, "poison")
    await queue.send_batch(["a", "b"])

    messages = await queue.receive(10, timedelta(0), NO_WAIT)

    assert sorted(m.body for m in messages) == ["a", "b"]
    assert (await queue.depth()).visible == 2


async def test_dead_letter_moves_the_message_now(queue: DeadLetterQueue) -> None:
    await queue.send_batch(["hello", "other"])
    messages = await receive(queue)
    hello = next(m for m in messages if m.body == "hello")

    await queue.dead_letter(hello, "MALFORMED")

    assert counts(await queue.depth()) == (0, 1, 1)
    [dead] = await queue.list_dead(10)
    assert (dead.id, dead.body, dead.reason, dead.receive_count) == (
        hello.id,
        "hello",
        "MALFORMED",
        1,
    )


async def test_queues_with_different_names_are_separate(make_queue: QueueFactory) -> None:
    first, second = await make_queue("first"), await make_queue("second")
    await first.send_batch(["for first"])

    assert await receive(second) == []
    assert await second.depth() == QueueDepth(0, 0, 0, None)
    assert [m.body for m in await receive(first)] == ["for first"]


async def waiting_receive(queue: Queue, looks: Looks) -> asyncio.Task[list[Message]]:
    """A long-polling receive that has looked, found nothing, and waits for more."""
    since = looks.count
    waiting = asyncio.create_task(queue.receive(10, VISIBILITY, timedelta(seconds=30)))
    async with asyncio.timeout(5):
        while looks.count - since < looks.to_be_waiting:
            await asyncio.sleep(0.001)
    assert not waiting.done()
    return waiting


async def test_long_poll_returns_as_soon_as_a_message_is_sent(
    queue: DeadLetterQueue, looks: Looks
) -> None:
    waiting = await waiting_receive(queue, looks)

    await queue.send_batch(["late"])

    messages = await asyncio.wait_for(waiting, timeout=5)
    assert [m.body for m in messages] == ["late"]


async def test_long_poll_returns_a_message_made_visible_during_the_wait(
    queue: DeadLetterQueue, looks: Looks
) -> None:
    await queue.send_batch(["hello"])
    held = await receive_one(queue)
    waiting = await waiting_receive(queue, looks)

    await release(queue, held)

    messages = await asyncio.wait_for(waiting, timeout=5)
    assert [m.id for m in messages] == [held.id]


async def test_zero_wait_returns_at_once(queue: DeadLetterQueue) -> None:
    assert await asyncio.wait_for(queue.receive(10, VISIBILITY, NO_WAIT), timeout=2) == []


async def test_list_dead_returns_every_dead_message_up_to_the_limit(
    queue: DeadLetterQueue,
) -> None:
    await _bury(queue, ["d0", "d1", "d2"])

    assert len(await queue.list_dead(2)) == 2
    everything = await queue.list_dead(10)
    assert sorted((d.body, d.reason) for d in everything) == [
        ("d0", "MALFORMED"),
        ("d1", "MALFORMED"),
        ("d2", "MALFORMED"),
    ]
    assert (await queue.depth()).dead == 3  # listing moves nothing


async def test_redrive_moves_dead_messages_back_with_a_fresh_receive_count(
    queue: DeadLetterQueue,
) -> None:
    await _bury(queue, ["d0", "d1", "d2"])

    assert await queue.redrive(2) == 2

    assert (await queue.depth()).dead == 1
    revived = await receive(queue)
    assert len(revived) == 2
    assert all(m.receive_count == 1 for m in revived)
    [left] = await queue.list_dead(10)
    assert sorted([left.body, *(m.body for m in revived)]) == ["d0", "d1", "d2"]


async def test_redrive_of_an_empty_dead_letter_queue_moves_nothing(
    queue: DeadLetterQueue,
) -> None:
    assert await queue.redrive(10) == 0


async def test_purge_dead_deletes_every_dead_message(queue: DeadLetterQueue) -> None:
    await _bury(queue, ["d0", "d1"])
    await queue.send_batch(["alive"])

    assert await queue.purge_dead() == 2

    assert await queue.list_dead(10) == []
    assert counts(await queue.depth()) == (1, 0, 0)
    assert await queue.purge_dead() == 0


class TestMemoryAndSql:
    """Cases that advance the injected clock or rely on promises SQS does not make.

    The SQS adapter takes its time from SQS (real, whole seconds), does not order
    messages, and may still act on a stale receipt (AWS: "the request succeeds, but the
    message might not be deleted"); it is not parametrised here, rather than skipped.
    """

    @pytest.fixture(params=MEMORY_AND_SQL)
    async def make_queue(
        self, request: pytest.FixtureRequest, clock: ManualClock
    ) -> AsyncIterator[QueueFactory]:
        async with AsyncExitStack() as stack:
            yield await _factories(request.param, request, clock, stack)

    async def test_older_messages_are_received_first(
        self, queue: DeadLetterQueue, clock: ManualClock
    ) -> None:
        await queue.send_batch(["first-a", "first-b"])
        clock.advance(timedelta(seconds=1))
        await queue.send_batch(["second"])
        clock.advance(timedelta(seconds=1))
        await queue.send_batch(["third"])

        batches = [await receive(queue, 2), await receive(queue, 1), await receive(queue, 1)]

        assert [sorted(m.body for m in batch) for batch in batches] == [
            ["first-a", "first-b"],
            ["second"],
            ["third"],
        ]

    async def test_received_message_is_invisible_until_its_timeout_passes(
        self, queue: DeadLetterQueue, clock: ManualClock
    ) -> None:
        await queue.send_batch(["hello"])
        first = await receive_one(queue)

        clock.advance(VISIBILITY - TICK)
        assert await receive(queue) == []
        clock.advance(TICK)
        again = await receive_one(queue)

        assert (again.id, again.body) == (first.id, first.body)
        assert again.receipt != first.receipt
        assert (first.receive_count, again.receive_count) == (1, 2)

    async def test_message_dead_lettered_after_its_timeout_passes_max_receives_times(
        self, queue: DeadLetterQueue, clock: ManualClock
    ) -> None:
        await queue.send_batch(["poison"])
        for count in range(1, MAX_RECEIVES + 1):
            assert (await receive_one(queue)).receive_count == count
            clock.advance(VISIBILITY)

        assert await receive(queue) == []

        assert await queue.depth() == QueueDepth(0, 0, 1, None)

    async def test_delete_with_stale_receipt_deletes_nothing(
        self, queue: DeadLetterQueue, clock: ManualClock
    ) -> None:
        await queue.send_batch(["hello"])
        stale = await receive_one(queue)
        clock.advance(VISIBILITY)
        current = await receive_one(queue)

        await queue.delete_batch([stale.receipt])

        assert (await queue.depth()).in_flight == 1
        clock.advance(VISIBILITY)
        assert (await receive_one(queue)).id == current.id

    async def test_change_visibility_batch_sets_each_delay_from_now(
        self, queue: DeadLetterQueue, clock: ManualClock
    ) -> None:
        await queue.send_batch(["short", "long"])
        by_body = {m.body: m for m in await receive(queue)}
        clock.advance(timedelta(seconds=5))

        await queue.change_visibility_batch(
            [
                VisibilityChange(by_body["short"].receipt, VISIBILITY),
                VisibilityChange(by_body["long"].receipt, 2 * VISIBILITY),
            ]
        )

        clock.advance(VISIBILITY - TICK)
        assert await receive(queue) == []
        clock.advance(TICK)
        [short] = await receive(queue)
        await queue.delete_batch([short.receipt])
        clock.advance(VISIBILITY - TICK)
        assert await receive(queue) == []
        clock.advance(TICK)
        assert [(short.body, *(m.body for m in await receive(queue)))] == [("short", "long")]

    async def test_change_visibility_batch_with_a_stale_receipt_changes_only_the_rest(
        self, queue: DeadLetterQueue, clock: ManualClock
    ) -> None:
        await queue.send_batch(["reclaimed", "other"])
        stale = next(m for m in await receive(queue) if m.body == "reclaimed")
        clock.advance(VISIBILITY)
        current = {m.body: m for m in await receive(queue)}

        await queue.change_visibility_batch(
            [VisibilityChange(stale.receipt, NOW), VisibilityChange(current["other"].receipt, NOW)]
        )

        assert [m.body for m in await receive(queue)] == ["other"]

    async def test_dead_letter_with_stale_receipt_does_nothing(
        self, queue: DeadLetterQueue, clock: ManualClock
    ) -> None:
        await queue.send_batch(["hello"])
        stale = await receive_one(queue)
        clock.advance(VISIBILITY)
        await receive_one(queue)

        await queue.dead_letter(stale, "MALFORMED")

        assert await queue.depth() == QueueDepth(0, 1, 0, VISIBILITY.total_seconds())

    async def test_dead_letter_counts_as_dead_in_depth_with_no_age(
        self, queue: DeadLetterQueue
    ) -> None:
        await queue.send_batch(["hello", "other"])
        hello = next(m for m in await receive(queue) if m.body == "hello")

        await queue.dead_letter(hello, "MALFORMED")

        assert await queue.depth() == QueueDepth(0, 1, 1, 0.0)

    async def test_depth_counts_visible_in_flight_and_dead_and_the_oldest_age(
        self, queue: DeadLetterQueue, clock: ManualClock
    ) -> None:
        assert await queue.depth() == QueueDepth(0, 0, 0, None)
        await queue.send_batch(["a", "b", "c"])
        clock.advance(timedelta(seconds=10))
        await queue.send_batch(["d"])
        claimed = await receive(queue, 2)
        await queue.dead_letter(claimed[0], "MALFORMED")

        assert await queue.depth() == QueueDepth(2, 1, 1, 10.0)

    async def test_long_poll_returns_nothing_once_the_wait_has_passed(
        self, queue: DeadLetterQueue
    ) -> None:
        loop = asyncio.get_running_loop()
        started = loop.time()

        messages = await queue.receive(10, VISIBILITY, timedelta(seconds=0.3))

        assert messages == []
        assert loop.time() - started >= 0.29  # it did wait (allowing for timer granularity)

    async def _bury_in_order(
        self, queue: DeadLetterQueue, clock: ManualClock, bodies: list[str]
    ) -> None:
        """Send each body at its own second, then dead-letter them all (oldest sent first)."""
        for body in bodies:
            await queue.send_batch([body])
            clock.advance(timedelta(seconds=1))
        for message in await receive(queue):
            await queue.dead_letter(message, "MALFORMED")

    async def test_list_dead_returns_oldest_first_up_to_the_limit(
        self, queue: DeadLetterQueue, clock: ManualClock
    ) -> None:
        start = clock.now()
        await self._bury_in_order(queue, clock, ["d0", "d1", "d2"])

        dead = await queue.list_dead(2)

        assert [(d.body, d.reason, d.sent_at) for d in dead] == [
            ("d0", "MALFORMED", start),
            ("d1", "MALFORMED", start + timedelta(seconds=1)),
        ]
        assert len(await queue.list_dead(10)) == 3

    async def test_redrive_moves_the_oldest_dead_messages_first(
        self, queue: DeadLetterQueue, clock: ManualClock
    ) -> None:
        await self._bury_in_order(queue, clock, ["d0", "d1", "d2"])

        assert await queue.redrive(2) == 2

        assert sorted(m.body for m in await receive(queue)) == ["d0", "d1"]
        assert [d.body for d in await queue.list_dead(10)] == ["d2"]
