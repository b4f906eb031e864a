"""The SQS queue: the ``Queue`` and ``DeadLetters`` ports over an SQS standard queue.

The twin of :mod:`filegate.adapters.sql.queue`, with SQS doing the work the SQL queue does
itself:

* Dead-lettering after too many receives is SQS's redrive policy (``maxReceiveCount``, set
  by :func:`filegate.adapters.sqs.provisioning.ensure_queues`): this adapter counts nothing.
  In this shape the receive limit comes from the queue's RedrivePolicy, not from
  ``Settings.max_receives``.
* Visibility timeouts and long-poll waits are whole seconds: timeouts are rounded up
  (capped at 12 hours), waits rounded down (capped at 20 s), so a receive never waits
  longer than asked (:mod:`filegate.adapters.sqs.endpoint`).
* SQS is at-least-once and unordered, and a stale receipt may still delete or hide a
  message (AWS: "the request succeeds, but the message might not be deleted"). Consumers
  are idempotent, so a duplicate or a stale-receipt race costs nothing but work.
* Batch calls fail per entry: see :mod:`filegate.adapters.sqs.batches` (only failed
  entries are retried; stale receipts are not errors).
* The dead-letter queue's listing, redrive and purge are in
  :mod:`filegate.adapters.sqs.dead_letters`.

Throttling, 5xx answers, timeouts and connection failures raise ``BackendUnavailable``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING

from aiobotocore.config import AioConfig
from aiobotocore.session import AioSession

from filegate.adapters.sqs.client import (
    SqsClient,
    queue_url_of,
    redrive_policy_of,
    sqs_client,
)
from filegate.adapters.sqs.dead_letters import SqsDeadLetters
from filegate.adapters.sqs.endpoint import QueueEndpoint, SqsTuning, visibility_seconds
from filegate.adapters.sqs.url import SqsLocation, default_dead_letter_name
from filegate.domain.models import DeadMessage, Message, QueueDepth, VisibilityChange

if TYPE_CHECKING:
    from types_aiobotocore_sqs.type_defs import MessageTypeDef

__all__ = ["SqsQueue", "SqsTuning", "connect_sqs_queue", "open_sqs_queue"]


class SqsQueue:
    """A ``Queue`` and ``DeadLetters`` over one SQS queue and its dead-letter queue.

    Build it with :func:`open_sqs_queue` (or :func:`connect_sqs_queue` on a client you
    own); the client stays open, and is reused, for the queue's whole life.
    """

    def __init__(
        self,
        client: SqsClient,
        queue_url: str,
        dead_letter_url: str,
        max_receives: int | None = None,
        tuning: SqsTuning | None = None,
    ) -> None:
        tuning = tuning or SqsTuning()
        self._queue = QueueEndpoint(client, queue_url, tuning)
        self._dead = QueueEndpoint(client, dead_letter_url, tuning)
        self._dead_letters = SqsDeadLetters(self._queue, self._dead, tuning.dead_letter_wait)
        self._max_receives = max_receives

    @property
    def dead_letter_url(self) -> str:
        return self._dead.url

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
        await self._queue.send(bodies)

    async def receive(
        self, max_messages: int, visibility_timeout: timedelta, wait: timedelta
    ) -> list[Message]:
        """Claim up to ``max_messages`` (at most ten) messages; long-poll up to ``wait``."""
        if max_messages < 1:
            return []
        raw = await self._queue.receive(max_messages, visibility_timeout, wait)
        return [_message(m) for m in raw]

    async def delete_batch(self, receipts: Sequence[str]) -> None:
        """Delete by receipt, ten per call; a stale receipt is not an error."""
        await self._queue.delete(list(dict.fromkeys(receipts)))

    async def change_visibility_batch(self, changes: Sequence[VisibilityChange]) -> None:
        """ChangeMessageVisibilityBatch, ten per call; retries only the failed entries.

        Delays are whole seconds, rounded up, at most 12 hours.
        """
        latest = {change.receipt: visibility_seconds(change.delay) for change in changes}
        await self._queue.change_visibility(list(latest.items()))

    async def dead_letter(self, message: Message, reason: str) -> None:
        """Copy to the dead-letter queue, then delete from this one.

        In that order: a crash in between leaves a duplicate, never a loss. On SQS a stale
        receipt may still copy the message (its delete then does nothing or deletes it).
        """
        await self._dead_letters.copy(message, reason)
        await self._queue.delete_one(message.receipt)

    async def copy_to_dead_letter_queue(self, message: Message, reason: str) -> None:
        """Send ``message``'s body to the dead-letter queue, with why and where it came
        from, leaving the original alone (the Lambda handler lets Lambda delete it)."""
        await self._dead_letters.copy(message, reason)

    async def depth(self) -> QueueDepth:
        """SQS's approximate counts (GetQueueAttributes on the queue and its DLQ).

        ``oldest_age_seconds`` is always ``None``: SQS publishes the oldest message's age
        only as a CloudWatch metric (ApproximateAgeOfOldestMessage).
        """
        source, dead = await asyncio.gather(self._queue.counts(), self._dead.counts())
        return QueueDepth(
            visible=int(source.get("ApproximateNumberOfMessages", "0")),
            in_flight=int(source.get("ApproximateNumberOfMessagesNotVisible", "0")),
            dead=int(dead.get("ApproximateNumberOfMessages", "0")),
            oldest_age_seconds=None,
        )

    async def list_dead(self, limit: int) -> list[DeadMessage]:
        """Up to ``limit`` dead messages (see :meth:`SqsDeadLetters.list_dead`)."""
        return await self._dead_letters.list_dead(limit)

    async def redrive(self, limit: int) -> int:
        """Move up to ``limit`` dead messages back (see :meth:`SqsDeadLetters.redrive`)."""
        return await self._dead_letters.redrive(limit)

    async def purge_dead(self) -> int:
        """Delete every dead message (see :meth:`SqsDeadLetters.purge_dead`)."""
        return await self._dead_letters.purge_dead()


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
    return SqsQueue(client, queue_url, dead_letter_url, max_receives, tuning)


def _message(raw: MessageTypeDef) -> Message:
    count = raw.get("Attributes", {}).get("ApproximateReceiveCount", "1")
    return Message(raw["MessageId"], raw["ReceiptHandle"], raw.get("Body", ""), int(count))
