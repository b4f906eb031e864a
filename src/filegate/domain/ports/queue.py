"""The event queue, its dead letters, and the ledger that enqueues an upload's event."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Protocol

from filegate.domain.models import (
    DeadMessage,
    FileRecord,
    Message,
    QueueDepth,
    VisibilityChange,
)

SQS_MAX_VISIBILITY = timedelta(hours=12)
"""SQS refuses a visibility timeout longer than this, so no queue delay ever exceeds it."""


class Queue(Protocol):
    """An at-least-once queue with visibility timeouts (SQS semantics)."""

    async def send_batch(self, bodies: Sequence[str]) -> None:
        """Enqueue every body; all or nothing from the caller's point of view."""
        ...

    async def receive(
        self, max_messages: int, visibility_timeout: timedelta, wait: timedelta
    ) -> list[Message]:
        """Claim up to ``max_messages`` visible messages for ``visibility_timeout``.

        Waits up to ``wait`` when none is visible. Each claim gets a fresh receipt and
        increments the receive count. A message received more often than the queue's
        limit is moved to the dead-letter queue instead of being returned.
        """
        ...

    async def delete_batch(self, receipts: Sequence[str]) -> None:
        """Delete the messages claimed with these receipts; a stale receipt deletes nothing."""
        ...

    async def change_visibility_batch(self, changes: Sequence[VisibilityChange]) -> None:
        """Make each claimed message visible again ``change.delay`` from now (zero: now),
        in as few calls as the backend allows. Stale receipts change nothing; a receipt
        named twice gets its last delay. If the call raises, some changes may already be
        applied: a message whose change was lost keeps its claim and comes back after its
        current timeout.
        """
        ...

    async def dead_letter(self, message: Message, reason: str) -> None:
        """Move a claimed message to the dead-letter queue now (it can never succeed).

        ``reason`` (see :func:`~filegate.domain.models.dead_letter_reason`) is stored as
        given; it is at most ``MAX_DEAD_REASON_LENGTH`` characters.
        """
        ...

    async def depth(self) -> QueueDepth:
        """How many messages wait, and how old the oldest is."""
        ...


class DeadLetters(Protocol):
    """Optional: a queue whose dead-letter queue can be listed, redriven and purged."""

    async def list_dead(self, limit: int) -> list[DeadMessage]:
        """Up to ``limit`` dead messages, oldest sent first."""
        ...

    async def redrive(self, limit: int) -> int:
        """Move up to ``limit`` dead messages back to the queue, visible now.

        Their receive count starts again from zero. Returns how many were moved.
        """
        ...

    async def purge_dead(self) -> int:
        """Delete every dead message; return how many there were."""
        ...


class UploadLedger(Protocol):
    """Records a finished upload and enqueues its event, atomically where the backends allow."""

    async def record_upload(self, file_id: str, event_body: str) -> FileRecord | None:
        """Move the file REGISTERED → UPLOADED and enqueue ``event_body``.

        Returns ``None`` (and enqueues nothing) when the file is not REGISTERED.
        """
        ...
