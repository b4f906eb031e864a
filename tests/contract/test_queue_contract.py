"""The Queue contract (SQS standard-queue semantics) and DeadLetters, for every adapter.

Time is a ``ManualClock``: visibility timeouts pass when a test advances it. Only the
long-poll tests use (short) real waits, because a long-poll waits in real time.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Protocol

import pytest

from filegate.adapters.memory import MemoryQueue
from filegate.adapters.queue_sql import SqlQueue
from filegate.adapters.sql_engine import create_engine
from filegate.domain.clock import ManualClock
from filegate.domain.models import Message, QueueDepth
from filegate.domain.ports import DeadLetters, Queue

MAX_RECEIVES = 3
VISIBILITY = timedelta(seconds=30)
NO_WAIT = timedelta(0)
TICK = timedelta(microseconds=1)


class DeadLetterQueue(Queue, DeadLetters, Protocol):
    """A queue with the dead-letter capability (every adapter under test has it)."""


QueueFactory = Callable[[str], DeadLetterQueue]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def make_queue(
    request: pytest.FixtureRequest, clock: ManualClock
) -> AsyncIterator[QueueFactory]:
    """Builds queues by name, all of one adapter, sharing one database and the clock."""
    if request.param == "memory":
        yield lambda _name: MemoryQueue(max_receives=MAX_RECEIVES, clock=clock)
        return
    engine = create_engine(request.getfixturevalue(f"{request.param}_url"))
    poll = timedelta(milliseconds=20)
    yield lambda name: SqlQueue(engine, clock, name, MAX_RECEIVES, poll_interval=poll)
    await engine.dispose()


@pytest.fixture
def queue(make_queue: QueueFactory) -> DeadLetterQueue:
    return make_queue("events")


async def receive(queue: Queue, max_messages: int = 10) -> list[Message]:
    return await queue.receive(max_messages, VISIBILITY, NO_WAIT)


async def receive_one(queue: Queue) -> Message:
    messages = await receive(queue, 1)
    assert len(messages) == 1
    return messages[0]


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


async def test_receive_returns_at_most_max_messages(queue: DeadLetterQueue) -> None:
    await queue.send_batch([f"m{i}" for i in range(7)])

    first = await receive(queue, 3)
    rest = await receive(queue, 10)

    assert len(first) == 3
    assert len(rest) == 4
    assert {m.id for m in first}.isdisjoint(m.id for m in rest)
    assert await receive(queue) == []


async def test_older_messages_are_received_first(
    queue: DeadLetterQueue, clock: ManualClock
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
    queue: DeadLetterQueue, clock: ManualClock
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


async def test_delete_with_current_receipt_removes_the_message(
    queue: DeadLetterQueue, clock: ManualClock
) -> None:
    await queue.send_batch(["a", "b", "c"])
    messages = await receive(queue)

    await queue.delete_batch([m.receipt for m in messages if m.body != "b"])
    clock.advance(VISIBILITY)

    assert [m.body for m in await receive(queue)] == ["b"]


async def test_delete_with_stale_receipt_deletes_nothing(
    queue: DeadLetterQueue, clock: ManualClock
) -> None:
    await queue.send_batch(["hello"])
    stale = await receive_one(queue)
    clock.advance(VISIBILITY)
    current = await receive_one(queue)

    await queue.delete_batch([stale.receipt])

    assert (await queue.depth()).in_flight == 1
    clock.advance(VISIBILITY)
    assert (await receive_one(queue)).id == current.id


async def test_delete_of_no_receipts_is_a_no_op(queue: DeadLetterQueue) -> None:
    await queue.send_batch(["hello"])

    await queue.delete_batch([])

    assert (await queue.depth()).visible == 1


async def test_change_visibility_to_zero_makes_the_message_visible_now(
    queue: DeadLetterQueue,
) -> None:
    await queue.send_batch(["hello"])
    first = await receive_one(queue)

    await queue.change_visibility(first.receipt, timedelta(0))
    again = await receive_one(queue)

    assert again.id == first.id
    assert again.receipt != first.receipt
    assert again.receive_count == 2


async def test_change_visibility_sets_a_new_delay_from_now(
    queue: DeadLetterQueue, clock: ManualClock
) -> None:
    await queue.send_batch(["hello"])
    message = await receive_one(queue)

    await queue.change_visibility(message.receipt, 2 * VISIBILITY)
    clock.advance(2 * VISIBILITY - TICK)
    assert await receive(queue) == []
    clock.advance(TICK)

    assert (await receive_one(queue)).id == message.id


async def test_change_visibility_with_stale_receipt_does_nothing(
    queue: DeadLetterQueue, clock: ManualClock
) -> None:
    await queue.send_batch(["hello"])
    stale = await receive_one(queue)
    clock.advance(VISIBILITY)
    await receive_one(queue)

    await queue.change_visibility(stale.receipt, timedelta(0))

    assert await receive(queue) == []


async def test_message_received_max_receives_times_is_dead_lettered_on_next_receive(
    queue: DeadLetterQueue, clock: ManualClock
) -> None:
    await queue.send_batch(["poison"])
    for count in range(1, MAX_RECEIVES + 1):
        assert (await receive_one(queue)).receive_count == count
        clock.advance(VISIBILITY)

    assert await receive(queue) == []

    assert await queue.depth() == QueueDepth(0, 0, 1, None)
    [dead] = await queue.list_dead(10)
    assert (dead.body, dead.reason, dead.receive_count) == ("poison", "MAX_RECEIVES", MAX_RECEIVES)


async def test_dead_lettered_message_does_not_take_a_live_ones_place(
    queue: DeadLetterQueue, clock: ManualClock
) -> None:
    await queue.send_batch(["poison"])
    for _ in range(MAX_RECEIVES):
        await receive_one(queue)
        clock.advance(VISIBILITY)
    await queue.send_batch(["fresh"])

    assert [m.body for m in await receive(queue, 1)] == ["fresh"]
    assert (await queue.depth()).dead == 1


async def test_zero_visibility_timeout_returns_each_message_once_per_receive(
    queue: DeadLetterQueue, clock: ManualClock
) -> None:
    await queue.send_batch(["poison"])
    for _ in range(MAX_RECEIVES):
        await receive_one(queue)
        clock.advance(VISIBILITY)
    await queue.send_batch(["a", "b"])

    messages = await queue.receive(10, timedelta(0), NO_WAIT)

    assert sorted(m.body for m in messages) == ["a", "b"]
    assert (await queue.depth()).visible == 2


async def test_dead_letter_moves_the_message_now(queue: DeadLetterQueue) -> None:
    await queue.send_batch(["hello", "other"])
    messages = await receive(queue)
    hello = next(m for m in messages if m.body == "hello")

    await queue.dead_letter(hello, "MALFORMED")

    assert await queue.depth() == QueueDepth(0, 1, 1, 0.0)
    [dead] = await queue.list_dead(10)
    assert (dead.id, dead.body, dead.reason, dead.receive_count) == (
        hello.id,
        "hello",
        "MALFORMED",
        1,
    )


async def test_dead_letter_with_stale_receipt_does_nothing(
    queue: DeadLetterQueue, clock: ManualClock
) -> None:
    await queue.send_batch(["hello"])
    stale = await receive_one(queue)
    clock.advance(VISIBILITY)
    await receive_one(queue)

    await queue.dead_letter(stale, "MALFORMED")

    assert await queue.depth() == QueueDepth(0, 1, 0, VISIBILITY.total_seconds())


async def test_depth_counts_visible_in_flight_and_dead_and_the_oldest_age(
    queue: DeadLetterQueue, clock: ManualClock
) -> None:
    assert await queue.depth() == QueueDepth(0, 0, 0, None)
    await queue.send_batch(["a", "b", "c"])
    clock.advance(timedelta(seconds=10))
    await queue.send_batch(["d"])
    claimed = await receive(queue, 2)
    await queue.dead_letter(claimed[0], "MALFORMED")

    assert await queue.depth() == QueueDepth(2, 1, 1, 10.0)


async def test_queues_with_different_names_are_separate(make_queue: QueueFactory) -> None:
    first, second = make_queue("first"), make_queue("second")
    await first.send_batch(["for first"])

    assert await receive(second) == []
    assert await second.depth() == QueueDepth(0, 0, 0, None)
    assert [m.body for m in await receive(first)] == ["for first"]


async def test_long_poll_returns_as_soon_as_a_message_is_sent(queue: DeadLetterQueue) -> None:
    waiting = asyncio.create_task(queue.receive(10, VISIBILITY, timedelta(seconds=30)))
    await asyncio.sleep(0.05)
    assert not waiting.done()

    await queue.send_batch(["late"])

    messages = await asyncio.wait_for(waiting, timeout=5)
    assert [m.body for m in messages] == ["late"]


async def test_long_poll_returns_a_message_made_visible_during_the_wait(
    queue: DeadLetterQueue,
) -> None:
    await queue.send_batch(["hello"])
    held = await receive_one(queue)
    waiting = asyncio.create_task(queue.receive(10, VISIBILITY, timedelta(seconds=30)))
    await asyncio.sleep(0.05)
    assert not waiting.done()

    await queue.change_visibility(held.receipt, timedelta(0))

    messages = await asyncio.wait_for(waiting, timeout=5)
    assert [m.id for m in messages] == [held.id]


async def test_long_poll_returns_nothing_once_the_wait_has_passed(
    queue: DeadLetterQueue,
) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()

    messages = await queue.receive(10, VISIBILITY, timedelta(seconds=0.3))

    assert messages == []
    assert loop.time() - started >= 0.29  # it did wait (allowing for timer granularity)


async def test_zero_wait_returns_at_once(queue: DeadLetterQueue) -> None:
    assert await asyncio.wait_for(queue.receive(10, VISIBILITY, NO_WAIT), timeout=2) == []


async def _bury_all(queue: DeadLetterQueue, clock: ManualClock, bodies: list[str]) -> None:
    """Send each body at its own second, then dead-letter them all (oldest sent first)."""
    for body in bodies:
        await queue.send_batch([body])
        clock.advance(timedelta(seconds=1))
    for message in await receive(queue):
        await queue.dead_letter(message, "MALFORMED")


async def test_list_dead_returns_oldest_first_up_to_the_limit(
    queue: DeadLetterQueue, clock: ManualClock
) -> None:
    start = clock.now()
    await _bury_all(queue, clock, ["d0", "d1", "d2"])

    dead = await queue.list_dead(2)

    assert [(d.body, d.reason, d.sent_at) for d in dead] == [
        ("d0", "MALFORMED", start),
        ("d1", "MALFORMED", start + timedelta(seconds=1)),
    ]
    assert len(await queue.list_dead(10)) == 3


async def test_redrive_moves_dead_messages_back_with_a_fresh_receive_count(
    queue: DeadLetterQueue, clock: ManualClock
) -> None:
    await _bury_all(queue, clock, ["d0", "d1", "d2"])

    assert await queue.redrive(2) == 2

    assert (await queue.depth()).dead == 1
    revived = await receive(queue)
    assert sorted(m.body for m in revived) == ["d0", "d1"]
    assert all(m.receive_count == 1 for m in revived)
    assert [d.body for d in await queue.list_dead(10)] == ["d2"]


async def test_redrive_of_an_empty_dead_letter_queue_moves_nothing(
    queue: DeadLetterQueue,
) -> None:
    assert await queue.redrive(10) == 0


async def test_purge_dead_deletes_every_dead_message(
    queue: DeadLetterQueue, clock: ManualClock
) -> None:
    await _bury_all(queue, clock, ["d0", "d1"])
    await queue.send_batch(["alive"])

    assert await queue.purge_dead() == 2

    assert await queue.list_dead(10) == []
    assert await queue.depth() == QueueDepth(1, 0, 0, 0.0)
    assert await queue.purge_dead() == 0
