"""The SQS adapter on moto's server: partial failures of the batch APIs, stale receipts,
dead-lettering (ours and the redrive policy's), depth, opening, and error translation.

The Queue contract itself runs in ``tests/contract/test_queue_contract.py``; here are the
parts only SQS has. Failures SQS can answer are injected by wrapping the real client.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from aiobotocore.config import AioConfig
from botocore.exceptions import ClientError
from types_aiobotocore_sqs.client import SQSClient

from filegate.adapters.sqs.batches import EntryRetry, SqsEntryRejected
from filegate.adapters.sqs.client import QueueNotFound, SqsClient
from filegate.adapters.sqs.dead_letters import DEAD_REASON_ATTRIBUTE, SOURCE_ID_ATTRIBUTE
from filegate.adapters.sqs.endpoint import visibility_seconds, wait_seconds
from filegate.adapters.sqs.provisioning import ensure_queues
from filegate.adapters.sqs.queue import SqsQueue, SqsTuning, connect_sqs_queue, open_sqs_queue
from filegate.adapters.sqs.url import SqsLocation
from filegate.domain.errors import BackendUnavailable
from filegate.domain.models import Message, QueueDepth, VisibilityChange
from tests.support.moto_server import REGION, aio_session
from tests.support.sqs_faults import FailingEntries, PassThrough, Raising, client_error

MAX_RECEIVES = 3
VISIBILITY = timedelta(seconds=30)
NOW = timedelta(0)
TUNING = SqsTuning(
    entry_retry=EntryRetry(attempts=3, backoff=timedelta(milliseconds=1)),
    dead_letter_wait=NOW,
)


@dataclass(frozen=True)
class Setup:
    """A fresh queue pair on moto, and how to open an adapter on it through any client."""

    client: SQSClient
    location: SqsLocation

    async def queue(
        self, wrap: Callable[[SqsClient], SqsClient] = lambda c: c, tuning: SqsTuning = TUNING
    ) -> SqsQueue:
        return await connect_sqs_queue(wrap(self.client), self.location, tuning)


@pytest.fixture
async def sqs(moto_endpoint: str) -> AsyncIterator[Setup]:
    async with AsyncExitStack() as stack:
        client = await stack.enter_async_context(
            aio_session().create_client("sqs", endpoint_url=moto_endpoint, region_name=REGION)
        )
        name = f"events-{uuid.uuid4().hex[:12]}"
        await ensure_queues(client, name, VISIBILITY, MAX_RECEIVES)
        yield Setup(client, SqsLocation(name, moto_endpoint, REGION))


async def receive_all(queue: SqsQueue, visibility: timedelta = VISIBILITY) -> list[Message]:
    """Every visible message (ten per receive), claimed for ``visibility``."""
    claimed: list[Message] = []
    while batch := await queue.receive(10, visibility, NOW):
        claimed += batch
    return claimed


def bodies_of(entries: list[dict[str, Any]]) -> list[str]:
    return sorted(str(e["MessageBody"]) for e in entries)


# --- partial failures of the batch APIs ------------------------------------------------------


async def test_send_batch_retries_only_the_entries_that_failed(sqs: Setup) -> None:
    bodies = [f"b{i:02d}" for i in range(12)]
    client = FailingEntries(sqs.client, lambda e: e["MessageBody"] in {"b03", "b07"})
    queue = await sqs.queue(lambda c: client)

    await queue.send_batch(bodies)

    calls = sorted(bodies_of(entries) for entries in client.entries("SendMessageBatch"))
    assert calls == sorted([bodies[:10], bodies[10:], ["b03", "b07"]])
    assert sorted(m.body for m in await receive_all(queue)) == bodies  # each exactly once


async def test_send_batch_raises_backend_unavailable_when_entries_keep_failing(
    sqs: Setup,
) -> None:
    client = FailingEntries(sqs.client, lambda e: e["MessageBody"] == "stuck", times=99)
    queue = await sqs.queue(lambda c: client)

    with pytest.raises(BackendUnavailable):
        await queue.send_batch(["fine", "stuck"])

    calls = client.entries("SendMessageBatch")
    assert [bodies_of(entries) for entries in calls] == [["fine", "stuck"], ["stuck"], ["stuck"]]


async def test_an_entry_sqs_blames_on_the_sender_is_refused_not_retried(sqs: Setup) -> None:
    client = FailingEntries(
        sqs.client,
        lambda e: e["MessageBody"] == "bad",
        code="InvalidMessageContents",
        sender_fault=True,
    )
    queue = await sqs.queue(lambda c: client)

    with pytest.raises(SqsEntryRejected, match="InvalidMessageContents"):
        await queue.send_batch(["good", "bad"])

    assert len(client.calls["SendMessageBatch"]) == 1


async def test_send_batch_splits_by_size_and_refuses_an_oversized_body(sqs: Setup) -> None:
    client = PassThrough(sqs.client)
    queue = await sqs.queue(lambda c: client)
    big = ["a" * 100_000, "b" * 100_000, "c" * 100_000]  # two fit in 256 KiB, three do not

    await queue.send_batch(big)
    with pytest.raises(ValueError, match="over the 262144-byte limit"):
        await queue.send_batch(["small", "x" * (256 * 1024 + 1)])

    assert sorted(len(entries) for entries in client.entries("SendMessageBatch")) == [1, 2]
    assert (await queue.depth()).visible == 3


async def test_delete_batch_retries_only_the_entries_that_failed(sqs: Setup) -> None:
    plain = await sqs.queue()
    await plain.send_batch([f"m{i:02d}" for i in range(12)])
    claimed = await receive_all(plain)
    doomed = {m.receipt for m in claimed if m.body in {"m02", "m11"}}
    client = FailingEntries(sqs.client, lambda e: e["ReceiptHandle"] in doomed)
    queue = await sqs.queue(lambda c: client)

    await queue.delete_batch([m.receipt for m in claimed])

    calls = [[e["ReceiptHandle"] for e in call] for call in client.entries("DeleteMessageBatch")]
    chunks, retries = calls[:2], calls[2:]  # both chunks are sent before any retry
    assert sorted(r for chunk in chunks for r in chunk) == sorted(m.receipt for m in claimed)
    assert sorted(r for retry in retries for r in retry) == sorted(doomed)
    assert await queue.depth() == QueueDepth(0, 0, 0, None)


async def test_change_visibility_batch_retries_only_the_entries_that_failed(
    sqs: Setup,
) -> None:
    plain = await sqs.queue()
    await plain.send_batch(["a", "b", "c"])
    claimed = await receive_all(plain)
    doomed = next(m.receipt for m in claimed if m.body == "b")
    client = FailingEntries(sqs.client, lambda e: e["ReceiptHandle"] == doomed)
    queue = await sqs.queue(lambda c: client)

    await queue.change_visibility_batch([VisibilityChange(m.receipt, NOW) for m in claimed])

    calls = client.entries("ChangeMessageVisibilityBatch")
    assert [[e["ReceiptHandle"] for e in call] for call in calls][1:] == [[doomed]]
    assert sorted(m.body for m in await receive_all(queue)) == ["a", "b", "c"]


# --- stale receipts ------------------------------------------------------------------------


async def test_deleting_with_a_stale_receipt_is_not_an_error(sqs: Setup) -> None:
    queue = await sqs.queue()
    await queue.send_batch(["kept", "deleted"])
    claimed = {m.body: m for m in await receive_all(queue)}

    await queue.delete_batch(["not-a-receipt-sqs-knows", claimed["deleted"].receipt])
    await queue.change_visibility_batch([VisibilityChange("not-a-receipt-sqs-knows", NOW)])

    assert await queue.depth() == QueueDepth(0, 1, 0, None)


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("ReceiptHandleIsInvalid", "The input receipt handle is invalid."),
        ("AWS.SimpleQueueService.MessageNotInflight", "Message is not in flight."),
        (
            "InvalidParameterValue",
            "Value r for parameter ReceiptHandle is invalid. Reason: Message does not exist "
            "or is not available for visibility timeout change.",
        ),
    ],
)
async def test_a_stale_receipt_answer_of_a_batch_call_is_neither_an_error_nor_retried(
    sqs: Setup, code: str, message: str
) -> None:
    plain = await sqs.queue()
    await plain.send_batch(["stale", "current"])
    claimed = {m.body: m for m in await receive_all(plain)}
    stale = claimed["stale"].receipt
    client = FailingEntries(
        sqs.client,
        lambda e: e["ReceiptHandle"] == stale,
        code=code,
        sender_fault=True,
        message=message,
    )
    queue = await sqs.queue(lambda c: client)

    await queue.change_visibility_batch(
        [VisibilityChange(r.receipt, NOW) for r in claimed.values()]
    )

    assert len(client.calls["ChangeMessageVisibilityBatch"]) == 1
    assert [m.body for m in await receive_all(queue)] == ["current"]


# --- dead letters --------------------------------------------------------------------------


async def test_dead_letter_moves_the_message_to_the_dlq_with_its_reason_and_source(
    sqs: Setup,
) -> None:
    queue = await sqs.queue()
    await queue.send_batch(["poison"])
    [message] = await receive_all(queue)

    await queue.dead_letter(message, "MALFORMED: body is not JSON")

    assert await queue.depth() == QueueDepth(0, 0, 1, None)
    response = await sqs.client.receive_message(
        QueueUrl=queue.dead_letter_url, MessageAttributeNames=["All"]
    )
    [dead] = response["Messages"]
    attributes = {k: v.get("StringValue") for k, v in dead["MessageAttributes"].items()}
    assert dead["Body"] == "poison"
    assert attributes[DEAD_REASON_ATTRIBUTE] == "MALFORMED: body is not JSON"
    assert attributes[SOURCE_ID_ATTRIBUTE] == message.id


async def test_copy_to_dead_letter_queue_leaves_the_original(sqs: Setup) -> None:
    queue = await sqs.queue()
    await queue.send_batch(["poison"])
    [message] = await receive_all(queue)

    await queue.copy_to_dead_letter_queue(message, "POISON: never")

    assert await queue.depth() == QueueDepth(0, 1, 1, None)
    [dead] = await queue.list_dead(10)
    assert (dead.id, dead.body, dead.reason) == (message.id, "poison", "POISON: never")


async def test_the_redrive_policy_dead_letters_after_max_receives(sqs: Setup) -> None:
    queue = await sqs.queue()
    await queue.send_batch(["poison"])

    counts = [m.receive_count for _ in range(MAX_RECEIVES) for m in await receive_all(queue, NOW)]
    after = await queue.receive(10, NOW, NOW)

    assert (queue.max_receives, counts, after) == (MAX_RECEIVES, [1, 2, 3], [])
    [dead] = await queue.list_dead(10)
    assert (dead.body, dead.reason, dead.receive_count) == ("poison", "MAX_RECEIVES", 3)


async def test_redrive_sends_new_messages_and_deletes_the_dead_ones(sqs: Setup) -> None:
    queue = await sqs.queue()
    await queue.send_batch(["d0", "d1"])
    for message in await receive_all(queue):
        await queue.dead_letter(message, "MALFORMED")

    assert await queue.redrive(10) == 2

    assert await queue.depth() == QueueDepth(2, 0, 0, None)
    revived = await receive_all(queue)
    assert sorted(m.body for m in revived) == ["d0", "d1"]
    assert {m.receive_count for m in revived} == {1}


async def test_redrive_releases_the_dead_messages_when_sending_fails(sqs: Setup) -> None:
    queue = await sqs.queue()
    await queue.send_batch(["d0"])
    [message] = await receive_all(queue)
    await queue.dead_letter(message, "MALFORMED")
    down = Raising(sqs.client, "SendMessageBatch", client_error("ServiceUnavailable", 503, "x"))
    failing = await sqs.queue(lambda c: down)

    with pytest.raises(BackendUnavailable):
        await failing.redrive(10)

    assert [d.body for d in await queue.list_dead(10)] == ["d0"]  # visible again at once


async def test_depth_reads_the_approximate_counts_and_no_age(sqs: Setup) -> None:
    queue = await sqs.queue()
    await queue.send_batch(["a", "b", "c"])
    first, _ = await queue.receive(2, VISIBILITY, NOW)

    await queue.dead_letter(first, "MALFORMED")

    assert await queue.depth() == QueueDepth(
        visible=1, in_flight=1, dead=1, oldest_age_seconds=None
    )


# --- requests ----------------------------------------------------------------------------


async def test_receive_asks_for_whole_seconds_ten_at_most_and_the_counts(sqs: Setup) -> None:
    client = PassThrough(sqs.client)
    queue = await sqs.queue(lambda c: client)
    await queue.send_batch(["hello"])  # so that the 20 s long poll returns at once

    await queue.receive(25, timedelta(milliseconds=1500), timedelta(seconds=25))

    [call] = client.calls["ReceiveMessage"]
    assert (call["MaxNumberOfMessages"], call["VisibilityTimeout"], call["WaitTimeSeconds"]) == (
        10,
        2,
        20,
    )
    assert set(call["MessageSystemAttributeNames"]) == {"ApproximateReceiveCount", "SentTimestamp"}


@pytest.mark.parametrize(
    ("delay", "seconds"),
    [
        (timedelta(0), 0),
        (timedelta(microseconds=1), 1),
        (timedelta(seconds=1), 1),
        (timedelta(milliseconds=1001), 2),
        (timedelta(hours=13), 12 * 3600),
        (timedelta(seconds=-5), 0),
    ],
)
def test_visibility_rounds_up_to_whole_seconds_within_twelve_hours(
    delay: timedelta, seconds: int
) -> None:
    assert visibility_seconds(delay) == seconds


@pytest.mark.parametrize(
    ("wait", "seconds"),
    [
        (timedelta(0), 0),
        (timedelta(milliseconds=999), 0),
        (timedelta(seconds=7.5), 7),
        (timedelta(minutes=1), 20),
    ],
)
def test_wait_rounds_down_to_whole_seconds_within_twenty(wait: timedelta, seconds: int) -> None:
    assert wait_seconds(wait) == seconds


# --- opening and errors ------------------------------------------------------------------


async def test_open_finds_the_dead_letter_queue_from_the_redrive_policy(
    sqs: Setup, moto_endpoint: str
) -> None:
    name, dead = f"custom-{uuid.uuid4().hex[:12]}", f"graveyard-{uuid.uuid4().hex[:12]}"
    await ensure_queues(sqs.client, name, VISIBILITY, 7, dead_letter_name=dead)

    async with open_sqs_queue(
        SqsLocation(name, moto_endpoint, REGION), session=aio_session()
    ) as queue:
        assert queue.dead_letter_url.endswith(f"/{dead}")
        assert queue.max_receives == 7


async def test_open_of_a_missing_queue_says_so(moto_endpoint: str) -> None:
    location = SqsLocation(f"missing-{uuid.uuid4().hex[:12]}", moto_endpoint, REGION)

    with pytest.raises(QueueNotFound, match="does not exist"):
        async with open_sqs_queue(location, session=aio_session()):
            pass


@pytest.mark.usefixtures("moto_endpoint")  # for its fake credentials
async def test_an_unreachable_endpoint_is_backend_unavailable() -> None:
    location = SqsLocation("events", "http://127.0.0.1:1", REGION)
    config = AioConfig(retries={"mode": "standard", "total_max_attempts": 1}, connect_timeout=1)

    with pytest.raises(BackendUnavailable) as caught:
        async with open_sqs_queue(location, session=aio_session(), config=config):
            pass

    assert caught.value.__cause__ is not None


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("ThrottlingException", 400),
        ("AWS.SimpleQueueService.RequestThrottled", 403),
        ("InternalError", 500),
        ("ServiceUnavailable", 503),
        ("SomethingNew", 502),
    ],
)
async def test_throttling_and_server_errors_are_backend_unavailable(
    sqs: Setup, code: str, status: int
) -> None:
    error = client_error(code, status, "ReceiveMessage")
    queue = await sqs.queue(lambda c: Raising(c, "ReceiveMessage", error))

    with pytest.raises(BackendUnavailable) as caught:
        await queue.receive(10, VISIBILITY, NOW)

    assert caught.value.__cause__ is error


async def test_a_refusal_that_will_not_pass_stays_a_client_error(sqs: Setup) -> None:
    error = client_error("AccessDenied", 403, "ReceiveMessage")
    queue = await sqs.queue(lambda c: Raising(c, "ReceiveMessage", error))

    with pytest.raises(ClientError) as caught:
        await queue.receive(10, VISIBILITY, NOW)

    assert caught.value is error
