"""The calls filegate makes on one SQS queue URL, shared by a queue and its dead-letter queue.

Batch calls go ten entries at a time and retry only their failed entries (see
:mod:`filegate.adapters.sqs.batches`); a stale receipt is no error. Durations become SQS's
whole seconds here: visibility timeouts rounded up (capped at 12 hours), long-poll waits
rounded down (capped at 20 s), so a receive never waits longer than asked.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

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
    tolerating_stale_receipt,
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

MAX_VISIBILITY_SECONDS = 12 * 60 * 60


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


class QueueEndpoint:
    """One queue URL and the SQS calls made on it, over a client the caller owns."""

    def __init__(self, client: SqsClient, url: str, tuning: SqsTuning) -> None:
        self._client = client
        self._tuning = tuning
        self.url = url

    async def receive(
        self,
        max_messages: int,
        visibility: timedelta,
        wait: timedelta,
        with_attributes: bool = False,
    ) -> list[MessageTypeDef]:
        """ReceiveMessage: up to ``max_messages`` (at most ten), with the receive count and
        sent time, and filegate's message attributes when ``with_attributes``."""
        response = await aws(
            self._client.receive_message(
                QueueUrl=self.url,
                MaxNumberOfMessages=min(max_messages, MAX_ENTRIES),
                VisibilityTimeout=visibility_seconds(visibility),
                WaitTimeSeconds=wait_seconds(wait),
                MessageSystemAttributeNames=["ApproximateReceiveCount", "SentTimestamp"],
                MessageAttributeNames=["All"] if with_attributes else [],
            )
        )
        return response.get("Messages", [])

    async def send(self, bodies: Sequence[str]) -> None:
        """SendMessageBatch for every body, ten (and at most ``max_batch_bytes``) per call.

        Raises ``ValueError`` for a body over ``max_batch_bytes`` before anything is sent,
        ``BackendUnavailable`` when some body still fails after the retries.
        """

        async def call(entries: list[SendMessageBatchRequestEntryTypeDef]) -> Failures:
            response = await self._client.send_message_batch(QueueUrl=self.url, Entries=entries)
            return response.get("Failed", [])

        sized = chunks_by_size(bodies, self._tuning.max_batch_bytes)
        batches: list[list[SendMessageBatchRequestEntryTypeDef]] = [
            [{"Id": str(i), "MessageBody": body} for i, body in enumerate(chunk)] for chunk in sized
        ]
        await call_in_batches("SendMessageBatch", batches, call, self._tuning.entry_retry)

    async def send_one(
        self, body: str, attributes: Mapping[str, MessageAttributeValueTypeDef]
    ) -> None:
        """SendMessage: one body with message attributes."""
        await aws(
            self._client.send_message(
                QueueUrl=self.url, MessageBody=body, MessageAttributes=attributes
            )
        )

    async def delete(self, receipts: Sequence[str]) -> None:
        """DeleteMessageBatch, ten receipts per call."""

        async def call(entries: list[DeleteMessageBatchRequestEntryTypeDef]) -> Failures:
            response = await self._client.delete_message_batch(QueueUrl=self.url, Entries=entries)
            return response.get("Failed", [])

        batches: list[list[DeleteMessageBatchRequestEntryTypeDef]] = [
            [{"Id": str(i), "ReceiptHandle": receipt} for i, receipt in enumerate(chunk)]
            for chunk in chunks(receipts)
        ]
        await call_in_batches("DeleteMessageBatch", batches, call, self._tuning.entry_retry)

    async def delete_one(self, receipt: str) -> None:
        """DeleteMessage for one receipt (a stale one deletes nothing, and is no error)."""
        with tolerating_stale_receipt():
            await aws(self._client.delete_message(QueueUrl=self.url, ReceiptHandle=receipt))

    async def change_visibility(self, changes: Sequence[tuple[str, int]]) -> None:
        """ChangeMessageVisibilityBatch for (receipt, whole seconds) pairs, ten per call."""

        async def call(
            chunk: list[ChangeMessageVisibilityBatchRequestEntryTypeDef],
        ) -> Failures:
            response = await self._client.change_message_visibility_batch(
                QueueUrl=self.url, Entries=chunk
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

    async def counts(self) -> Mapping[QueueAttributeNameType, str]:
        """GetQueueAttributes: the approximate numbers of visible and in-flight messages."""
        response = await aws(
            self._client.get_queue_attributes(
                QueueUrl=self.url,
                AttributeNames=[
                    "ApproximateNumberOfMessages",
                    "ApproximateNumberOfMessagesNotVisible",
                ],
            )
        )
        return response.get("Attributes", {})


def visibility_seconds(delay: timedelta) -> int:
    """SQS's VisibilityTimeout for ``delay``: whole seconds, rounded up, 0 to 12 hours."""
    seconds = -(-delay // timedelta(seconds=1))  # ceiling, in exact integer arithmetic
    return min(max(seconds, 0), MAX_VISIBILITY_SECONDS)


def wait_seconds(wait: timedelta) -> int:
    """SQS's WaitTimeSeconds for ``wait``: whole seconds, rounded down (never waits
    longer than asked), 0 to 20."""
    return min(max(wait // timedelta(seconds=1), 0), LONG_POLL_SECONDS)
