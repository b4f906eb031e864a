"""``CountedQueue``: a ``Queue`` that reports each call it passes on, by operation.

The capacity model and ``make bench`` need queue calls per file; counting at the port
covers every backend (SQL table, SQS) with one wrapper instead of one counter per adapter.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta

from filegate.domain.models import Message, QueueDepth, VisibilityChange
from filegate.domain.ports import Queue

QUEUE_OPERATIONS = (
    "send_batch",
    "receive",
    "delete_batch",
    "change_visibility_batch",
    "dead_letter",
    "depth",
)


class CountedQueue:
    """Passes every call to ``inner`` after ``count(operation)`` (a name of
    :data:`QUEUE_OPERATIONS`); a call that fails is counted too: it reached the queue."""

    def __init__(self, inner: Queue, count: Callable[[str], None]) -> None:
        self.inner = inner
        self._count = count

    async def send_batch(self, bodies: Sequence[str]) -> None:
        self._count("send_batch")
        await self.inner.send_batch(bodies)

    async def receive(
        self, max_messages: int, visibility_timeout: timedelta, wait: timedelta
    ) -> list[Message]:
        self._count("receive")
        return await self.inner.receive(max_messages, visibility_timeout, wait)

    async def delete_batch(self, receipts: Sequence[str]) -> None:
        self._count("delete_batch")
        await self.inner.delete_batch(receipts)

    async def change_visibility_batch(self, changes: Sequence[VisibilityChange]) -> None:
        self._count("change_visibility_batch")
        await self.inner.change_visibility_batch(changes)

    async def dead_letter(self, message: Message, reason: str) -> None:
        self._count("dead_letter")
        await self.inner.dead_letter(message, reason)

    async def depth(self) -> QueueDepth:
        self._count("depth")
        return await self.inner.depth()
