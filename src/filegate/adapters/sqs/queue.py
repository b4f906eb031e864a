"""The SQS queue: the ``Queue`` and ``DeadLetters`` ports over an SQS standard queue.

The twin of ``queue_sql``, with SQS doing the work the SQL queue does itself:

* Dead-lettering after too many receives is SQS's redrive policy (``maxReceiveCount``, set
  by ``sqs_provisioning.ensure_queues``): this adapter counts nothing. In this shape the
  receive limit comes from the queue's RedrivePolicy, not from ``Settings.max_receives``.
* Visibility timeouts and long-poll waits are whole seconds: timeouts are rounded up
  (capped at 12 hours), waits rounded down (capped at 20 s), so a receive never waits
  longer than asked.
* SQS is at-least-once and unordered, and a stale receipt may still delete or hide a
  message (AWS: "the request succeeds, but the message might not be deleted"). Consumers
  are idempotent, so a duplicate or a stale-receipt race costs nothing but work.
* Batch calls fail per entry: see ``sqs_batches`` (only failed entries are retried; stale
  receipts are not errors).

Throttling, 5xx answers, timeouts and connection failures raise ``BackendUnavailable``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from aiobotocore.config import AioConfig
from aiobotocore.session import AioSession

from filegate.adapters.sqs.batches import (
    MAX_ENTRIES,
    EntryRetry,
    Failures,
    call_in_batches,
    chunks,
    chunks_by_size,
)
from filegate.adapters.sqs.client import (
    LONG_POLL_SECONDS,
    SqsClient,
    aws,
    queue_url_of,
    redrive_policy_of,
    sqs_client,
    tolerating_stale_receipt,
)
from filegate.adapters.sqs.url import SqsLocation, default_dead_letter_name
from filegate.domain.models import (
    DeadMessage,
    FailureReason,
    Message,
    QueueDepth,
    VisibilityChange,
    dead_letter_reason,
)

if TYPE_CHECKING:
    from types_aiobotocore_sqs.literals import QueueAttributeNameType
    from types_aiobotocore_sqs.type_defs import (
        ChangeMessageVisibilityBatchRequestEntryTypeDef,
        DeleteMessageBatchRequestEntryTypeDef,
        MessageAttributeValueTypeDef,
        MessageTypeDef,
        SendMessageBatchRequestEntryTypeDef,
    )

log = logging.getLogger(__name__)

MAX_VISIBILITY_SECONDS = 12 * 60 * 60

DEAD_REASON_ATTRIBUTE = "filegate-dead-reason"
SOURCE_ID_ATTRIBUTE = "filegate-source-message-id"
RECEIVE_COUNT_ATTRIBUTE = "filegate-receive-count"

PEEK_VISIBILITY = timedelta(seconds=30)
"""How long ``list_dead`` hides the dead messages it looks at (they are released at once)."""
CLAIM_VISIBILITY = timedelta(seconds=120)
"""How long ``redrive`` and ``purge_dead`` hold the dead messages they move or delete."""


@dataclass(frozen=True)
class SqsTuning:
    """How hard the adapter tries, and how big its batches get.

    ``entry_retry``: how often a batch call is repeated for its failed entries.
    ``dead_letter_wait``: the long poll used when reading the dead-letter queue. SQS short
    polls sample a subset of its servers and may come back empty while messages remain, so
    the last, empty read waits this long. ``max_batch_bytes`` bounds the bodies of one
    SendMessageBatch (SQS's classic 256 KiB; AWS allows 1 MiB since 2025, compatible
    services often do not).
    """

    entry_retry: EntryRetry = field(default_factory=EntryRetry)
    dead_letter_wait: timedelta = timedelta(seconds=1)
    max_batch_bytes: int = 256 * 1024

    def __post_init__(self) -> None:
        if self.max_batch_bytes < 1:
            raise ValueError("max_batch_bytes must be positive")


class SqsQueue:
    """A ``Queue`` and ``DeadLetters`` over one SQS queue and its dead-letter queue.

    Build it with :func:`open_sqs_queue` (or :func:`connect_sqs_queue` on a client you
    own); the client stays open, and is reused, for the queue's whole life.
    """

    def __init__(
        self,
        client: SqsClient,
        location: SqsLocation,
        queue_url: str,
        dead_letter_url: str,
        max_receives: int | None = None,
        tuning: SqsTuning | None = None,
    ) -> None:
        self._client = client
        self._location = location
        self._url = queue_url
        self._dlq_url = dead_letter_url
        self._max_receives = max_receives
        self._tuning = tuning or SqsTuning()

    @property
    def name(self) -> str:
        return self._location.queue_name

    @property
    def url(self) -> str:
        return self._url

    @property
    def dead_letter_url(self) -> str:
        return self._dlq_url

    @property
    def max_receives(self) -> int | None:
        """The queue's RedrivePolicy ``maxReceiveCount`` when opened (``None``: no policy)."""
        return self._max_receives

    async def send_batch(self, bodies: Sequence[str]) -> None:
        """Send every body, ten (and at most ``max_batch_bytes``) per call, calls at once.

        All or nothing from the caller's point of view: if any body could not be sent after
        the retries, raise ``BackendUnavailable``; the caller retries the whole call, and
        the duplicates that makes are fine because consumers are idempotent. A body over
        ``max_batch_bytes`` raises ``ValueError`` before anything is sent.
        """
        await self._send_to(self._url, bodies)

    async def receive(
        self, max_messages: int, visibility_timeout: timedelta, wait: timedelta
    ) -> list[Message]:
        """Claim up to ``max_messages`` (at most ten) messages; long-poll up to ``wait``."""
        if max_messages < 1:
            return []
        raw = await self._receive_raw(self._url, max_messages, visibility_timeout, wait)
        return [_message(m) for m in raw]

    async def delete_batch(self, receipts: Sequence[str]) -> None:
        """Delete by receipt, ten per call; a stale receipt is not an error."""
        await self._delete_from(self._url, list(dict.fromkeys(receipts)))

    async def change_visibility(self, receipt: str, delay: timedelta) -> None:
        """Visible again ``delay`` from now (whole seconds, rounded up, at most 12 hours)."""
        with tolerating_stale_receipt():
            await aws(
                self._client.change_message_visibility(
                    QueueUrl=self._url,
                    ReceiptHandle=receipt,
                    VisibilityTimeout=visibility_seconds(delay),
                )
            )

    async def change_visibility_batch(self, changes: Sequence[VisibilityChange]) -> None:
        """ChangeMessageVisibilityBatch, ten per call; retries only the failed entries."""
        latest = {change.receipt: visibility_seconds(change.delay) for change in changes}
        await self._change_visibility_of(self._url, list(latest.items()))

    async def dead_letter(self, message: Message, reason: str) -> None:
        """Copy to the dead-letter queue, then delete from this one.

        In that order: a crash in between leaves a duplicate, never a loss. On SQS a stale
        receipt may still copy the message (its delete then does nothing or deletes it).
        """
        await self.copy_to_dead_letter_queue(message, reason)
        with tolerating_stale_receipt():
            await aws(
                self._client.delete_message(QueueUrl=self._url, ReceiptHandle=message.receipt)
            )

    async def copy_to_dead_letter_queue(self, message: Message, reason: str) -> None:
        """Send ``message``'s body to the dead-letter queue, with why and where it came
        from, leaving the original alone (the Lambda handler lets Lambda delete it)."""
        attributes: dict[str, MessageAttributeValueTypeDef] = {
            DEAD_REASON_ATTRIBUTE: {"DataType": "String", "StringValue": reason or "UNKNOWN"},
            RECEIVE_COUNT_ATTRIBUTE: {
                "DataType": "Number",
                "StringValue": str(message.receive_count),
            },
        }
        if message.id:
            attributes[SOURCE_ID_ATTRIBUTE] = {"DataType": "String", "StringValue": message.id}
        await aws(
            self._client.send_message(
                QueueUrl=self._dlq_url, MessageBody=message.body, MessageAttributes=attributes
            )
        )

    async def depth(self) -> QueueDepth:
        """SQS's approximate counts (GetQueueAttributes on the queue and its DLQ).

        ``oldest_age_seconds`` is always ``None``: SQS publishes the oldest message's age
        only as a CloudWatch metric (ApproximateAgeOfOldestMessage).
        """
        source, dead = await asyncio.gather(
            self._attributes(self._url),
            self._attributes(self._dlq_url),
        )
        return QueueDepth(
            visible=int(source.get("ApproximateNumberOfMessages", "0")),
            in_flight=int(source.get("ApproximateNumberOfMessagesNotVisible", "0")),
            dead=int(dead.get("ApproximateNumberOfMessages", "0")),
            oldest_age_seconds=None,
        )

    async def list_dead(self, limit: int) -> list[DeadMessage]:
        """Up to ``limit`` dead messages, oldest sent first among those seen.

        SQS cannot peek: this receives the messages (hidden for ``PEEK_VISIBILITY``) and
        releases them at once. Each look therefore adds one to their ApproximateReceiveCount;
        ``receive_count`` subtracts this look, not earlier ones. SQS does not order messages,
        so with more than ``limit`` dead the ones listed are not necessarily the oldest.
        """
        if limit < 1:
            return []
        seen = await self._claim_dead(limit, PEEK_VISIBILITY)
        try:
            dead = [_dead_message(m) for m in seen]
        finally:
            await self._release_dead(seen)
        return sorted(dead, key=lambda d: (d.sent_at, d.id))[:limit]

    async def redrive(self, limit: int) -> int:
        """Move up to ``limit`` dead messages back: send copies, then delete the originals.

        The copies are new messages (new ids, receive count zero, no dead reason). A crash
        between the two steps duplicates, never loses.
        """
        if limit < 1:
            return 0
        claimed = await self._claim_dead(limit, CLAIM_VISIBILITY)
        if not claimed:
            return 0
        try:
            await self._send_to(self._url, [m["Body"] for m in claimed])
        except Exception:
            await self._release_dead(claimed)
            raise
        await self._delete_from(self._dlq_url, [m["ReceiptHandle"] for m in claimed])
        return len(claimed)

    async def purge_dead(self) -> int:
        """Receive and delete dead messages until a read comes back empty; return how many.

        Not PurgeQueue: that is asynchronous (up to 60 s), allowed once a minute, and says
        nothing of how many it removed.
        """
        purged = 0
        while batch := await self._receive_raw(
            self._dlq_url, MAX_ENTRIES, CLAIM_VISIBILITY, self._tuning.dead_letter_wait
        ):
            await self._delete_from(self._dlq_url, [m["ReceiptHandle"] for m in batch])
            purged += len(batch)
        return purged

    # --- calls ---------------------------------------------------------------------------

    async def _receive_raw(
        self,
        url: str,
        max_messages: int,
        visibility: timedelta,
        wait: timedelta,
        with_attributes: bool = False,
    ) -> list[MessageTypeDef]:
        response = await aws(
            self._client.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=min(max_messages, MAX_ENTRIES),
                VisibilityTimeout=visibility_seconds(visibility),
                WaitTimeSeconds=wait_seconds(wait),
                MessageSystemAttributeNames=["ApproximateReceiveCount", "SentTimestamp"],
                MessageAttributeNames=["All"] if with_attributes else [],
            )
        )
        return response.get("Messages", [])

    async def _attributes(self, url: str) -> Mapping[QueueAttributeNameType, str]:
        response = await aws(
            self._client.get_queue_attributes(
                QueueUrl=url,
                AttributeNames=[
                    "ApproximateNumberOfMessages",
                    "ApproximateNumberOfMessagesNotVisible",
                ],
            )
        )
        return response.get("Attributes", {})

    async def _claim_dead(self, limit: int, visibility: timedelta) -> list[MessageTypeDef]:
        claimed: dict[str, MessageTypeDef] = {}
        while len(claimed) < limit:
            batch = await self._receive_raw(
                self._dlq_url,
                limit - len(claimed),
                visibility,
                self._tuning.dead_letter_wait,
                with_attributes=True,
            )
            fresh = {m["MessageId"]: m for m in batch if m["MessageId"] not in claimed}
            if not fresh:
                break
            claimed.update(fresh)
        return list(claimed.values())

    async def _release_dead(self, messages: Sequence[MessageTypeDef]) -> None:
        try:
            await self._change_visibility_of(
                self._dlq_url, [(m["ReceiptHandle"], 0) for m in messages]
            )
        except Exception:
            log.warning("could not release dead messages; they return on their own", exc_info=True)

    async def _send_to(self, url: str, bodies: Sequence[str]) -> None:
        async def call(entries: list[SendMessageBatchRequestEntryTypeDef]) -> Failures:
            response = await self._client.send_message_batch(QueueUrl=url, Entries=entries)
            return response.get("Failed", [])

        sized = chunks_by_size(bodies, self._tuning.max_batch_bytes)
        batches: list[list[SendMessageBatchRequestEntryTypeDef]] = [
            [{"Id": str(i), "MessageBody": body} for i, body in enumerate(chunk)] for chunk in sized
        ]
        await call_in_batches("SendMessageBatch", batches, call, self._tuning.entry_retry)

    async def _delete_from(self, url: str, receipts: Sequence[str]) -> None:
        async def call(entries: list[DeleteMessageBatchRequestEntryTypeDef]) -> Failures:
            response = await self._client.delete_message_batch(QueueUrl=url, Entries=entries)
            return response.get("Failed", [])

        batches: list[list[DeleteMessageBatchRequestEntryTypeDef]] = [
            [{"Id": str(i), "ReceiptHandle": receipt} for i, receipt in enumerate(chunk)]
            for chunk in chunks(receipts)
        ]
        await call_in_batches("DeleteMessageBatch", batches, call, self._tuning.entry_retry)

    async def _change_visibility_of(self, url: str, changes: Sequence[tuple[str, int]]) -> None:
        """ChangeMessageVisibilityBatch for (receipt, whole seconds) pairs."""

        async def call(
            chunk: list[ChangeMessageVisibilityBatchRequestEntryTypeDef],
        ) -> Failures:
            response = await self._client.change_message_visibility_batch(
                QueueUrl=url, Entries=chunk
            )
            return response.get("Failed", [])

        batches: list[list[ChangeMessageVisibilityBatchRequestEntryTypeDef]] = [
            [
                {"Id": str(i), "ReceiptHandle": receipt, "VisibilityTimeout": seconds}
                for i, (receipt, seconds) in enumerate(chunk)
            ]
            for chunk in chunks(changes)
        ]
        await call_in_batches(
            "ChangeMessageVisibilityBatch", batches, call, self._tuning.entry_retry
        )


# --- opening ------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def open_sqs_queue(
    location: SqsLocation,
    tuning: SqsTuning | None = None,
    session: AioSession | None = None,
    config: AioConfig | None = None,
) -> AsyncIterator[SqsQueue]:
    """Open a client, resolve the queue's and dead-letter queue's URLs once, and yield the
    queue; the client closes on exit. Raises :class:`QueueNotFound` for a missing queue."""
    async with sqs_client(location, session, config) as client:
        yield await connect_sqs_queue(client, location, tuning)


async def connect_sqs_queue(
    client: SqsClient, location: SqsLocation, tuning: SqsTuning | None = None
) -> SqsQueue:
    """The queue at ``location`` over an open ``client``: GetQueueUrl for it and its DLQ.

    The dead-letter queue is the URL's ``dlq``, else the one the RedrivePolicy targets,
    else ``{name}-dlq``.
    """
    queue_url = await queue_url_of(client, location.queue_name)
    policy = await redrive_policy_of(client, queue_url)
    dead_letter_name = (
        location.dead_letter_queue_name
        or (policy.dead_letter_name if policy else None)
        or default_dead_letter_name(location.queue_name)
    )
    dead_letter_url = await queue_url_of(client, dead_letter_name)
    max_receives = policy.max_receives if policy else None
    return SqsQueue(client, location, queue_url, dead_letter_url, max_receives, tuning)


# --- helpers ------------------------------------------------------------------------------


def visibility_seconds(delay: timedelta) -> int:
    """SQS's VisibilityTimeout for ``delay``: whole seconds, rounded up, 0 to 12 hours."""
    seconds = -(-delay // timedelta(seconds=1))  # ceiling, in exact integer arithmetic
    return min(max(seconds, 0), MAX_VISIBILITY_SECONDS)


def wait_seconds(wait: timedelta) -> int:
    """SQS's WaitTimeSeconds for ``wait``: whole seconds, rounded down (never waits
    longer than asked), 0 to 20."""
    return min(max(wait // timedelta(seconds=1), 0), LONG_POLL_SECONDS)


def _message(raw: MessageTypeDef) -> Message:
    count = raw.get("Attributes", {}).get("ApproximateReceiveCount", "1")
    return Message(raw["MessageId"], raw["ReceiptHandle"], raw.get("Body", ""), int(count))


def _dead_message(raw: MessageTypeDef) -> DeadMessage:
    ours = {
        name: value.get("StringValue", "")
        for name, value in raw.get("MessageAttributes", {}).items()
    }
    system = raw.get("Attributes", {})
    looked = int(system.get("ApproximateReceiveCount", "1"))
    count = ours.get(RECEIVE_COUNT_ATTRIBUTE) or str(max(looked - 1, 0))  # minus this look
    sent_ms = int(system.get("SentTimestamp", "0"))
    return DeadMessage(
        id=ours.get(SOURCE_ID_ATTRIBUTE) or raw["MessageId"],
        body=raw.get("Body", ""),
        # Moved by SQS's redrive policy when it carries no reason of ours.
        reason=ours.get(DEAD_REASON_ATTRIBUTE) or dead_letter_reason(FailureReason.MAX_RECEIVES),
        receive_count=int(count),
        sent_at=datetime.fromtimestamp(sent_ms / 1000, UTC),
    )
