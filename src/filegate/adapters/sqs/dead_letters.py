"""The dead-letter side of the SQS queue: copying a message there, listing, redriving, purging.

A dead message moved by filegate carries why and where it came from in message attributes;
one moved by SQS's redrive policy carries nothing of ours, so its reason is
``MAX_RECEIVES``. SQS cannot peek or move messages between queues: listing receives
and releases, redriving sends copies and deletes the originals (a crash in between
duplicates, never loses).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from filegate.adapters.sqs.batches import MAX_ENTRIES
from filegate.adapters.sqs.endpoint import QueueEndpoint
from filegate.domain.models import DeadMessage, FailureReason, Message, dead_letter_reason

if TYPE_CHECKING:
    from types_aiobotocore_sqs.type_defs import MessageAttributeValueTypeDef, MessageTypeDef

log = logging.getLogger(__name__)

DEAD_REASON_ATTRIBUTE = "filegate-dead-reason"
SOURCE_ID_ATTRIBUTE = "filegate-source-message-id"
RECEIVE_COUNT_ATTRIBUTE = "filegate-receive-count"

PEEK_VISIBILITY = timedelta(seconds=30)
"""How long ``list_dead`` hides the dead messages it looks at (they are released at once)."""
CLAIM_VISIBILITY = timedelta(seconds=120)
"""How long ``redrive`` and ``purge_dead`` hold the dead messages they move or delete."""


class SqsDeadLetters:
    """``DeadLetters`` for the queue ``source`` whose dead-letter queue is ``dead``.

    ``wait`` is the long poll of reads from the dead-letter queue (see
    :class:`~filegate.adapters.sqs.endpoint.SqsTuning`).
    """

    def __init__(self, source: QueueEndpoint, dead: QueueEndpoint, wait: timedelta) -> None:
        self._source = source
        self._dead = dead
        self._wait = wait

    async def copy(self, message: Message, reason: str) -> None:
        """Send ``message``'s body to the dead-letter queue, with why and where it came
        from, leaving the original alone."""
        attributes: dict[str, MessageAttributeValueTypeDef] = {
            DEAD_REASON_ATTRIBUTE: {"DataType": "String", "StringValue": reason or "UNKNOWN"},
            RECEIVE_COUNT_ATTRIBUTE: {
                "DataType": "Number",
                "StringValue": str(message.receive_count),
            },
        }
        if message.id:
            attributes[SOURCE_ID_ATTRIBUTE] = {"DataType": "String", "StringValue": message.id}
        await self._dead.send_one(message.body, attributes)

    async def list_dead(self, limit: int) -> list[DeadMessage]:
        """Up to ``limit`` dead messages, oldest sent first among those seen.

        SQS cannot peek: this receives the messages (hidden for ``PEEK_VISIBILITY``) and
        releases them at once. Each look therefore adds one to their ApproximateReceiveCount;
        ``receive_count`` subtracts this look, not earlier ones. SQS does not order messages,
        so with more than ``limit`` dead the ones listed are not necessarily the oldest.
        """
        if limit < 1:
            return []
        seen = await self._claim(limit, PEEK_VISIBILITY)
        try:
            dead = [_dead_message(m) for m in seen]
        finally:
            await self._release(seen)
        return sorted(dead, key=lambda d: (d.sent_at, d.id))[:limit]

    async def redrive(self, limit: int) -> int:
        """Move up to ``limit`` dead messages back: send copies, then delete the originals.

        The copies are new messages (new ids, receive count zero, no dead reason). A crash
        between the two steps duplicates, never loses.
        """
        if limit < 1:
            return 0
        claimed = await self._claim(limit, CLAIM_VISIBILITY)
        if not claimed:
            return 0
        try:
            await self._source.send([m["Body"] for m in claimed])
        except Exception:
            await self._release(claimed)
            raise
        await self._dead.delete([m["ReceiptHandle"] for m in claimed])
        return len(claimed)

    async def purge_dead(self) -> int:
        """Receive and delete dead messages until a read comes back empty; return how many.

        Not PurgeQueue: that is asynchronous (up to 60 s), allowed once a minute, and says
        nothing of how many it removed.
        """
        purged = 0
        while batch := await self._dead.receive(MAX_ENTRIES, CLAIM_VISIBILITY, self._wait):
            await self._dead.delete([m["ReceiptHandle"] for m in batch])
            purged += len(batch)
        return purged

    async def _claim(self, limit: int, visibility: timedelta) -> list[MessageTypeDef]:
        claimed: dict[str, MessageTypeDef] = {}
        while len(claimed) < limit:
            batch = await self._dead.receive(
                limit - len(claimed), visibility, self._wait, with_attributes=True
            )
            fresh = {m["MessageId"]: m for m in batch if m["MessageId"] not in claimed}
            if not fresh:
                break
            claimed.update(fresh)
        return list(claimed.values())

    async def _release(self, messages: Sequence[MessageTypeDef]) -> None:
        try:
            await self._dead.change_visibility([(m["ReceiptHandle"], 0) for m in messages])
        except Exception:
            log.warning("could not release dead messages; they return on their own", exc_info=True)


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
