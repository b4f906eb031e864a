"""A ``Queue`` and ``DeadLetters`` fake over a dict, with visibility timeouts."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from filegate.domain.clock import SystemClock
from filegate.domain.models import (
    DeadMessage,
    FailureReason,
    Message,
    QueueDepth,
    VisibilityChange,
    dead_letter_reason,
)
from filegate.domain.ports import Clock


@dataclass
class _Stored:
    id: str
    body: str
    sent_at: datetime
    visible_at: datetime
    receipt: str | None = None
    receive_count: int = 0
    dead_reason: str | None = None


class MemoryQueue:
    """A ``Queue`` (and ``DeadLetters``) in lists, with visibility timeouts and a dead list.

    A long-poll wakes when messages are sent, and otherwise looks again every 50 ms, so it
    also sees messages whose visibility returned (a timeout passed, a receipt was released).
    """

    _POLL_SECONDS = 0.05

    def __init__(self, max_receives: int = 5, clock: Clock | None = None) -> None:
        self._clock = clock or SystemClock()
        self._max_receives = max_receives
        self._messages: dict[str, _Stored] = {}
        self.dead: list[_Stored] = []
        self._arrived = asyncio.Event()

    async def send_batch(self, bodies: Sequence[str]) -> None:
        now = self._clock.now()
        for body in bodies:
            message_id = uuid.uuid4().hex
            self._messages[message_id] = _Stored(message_id, body, now, now)
        if bodies:
            self._arrived.set()

    async def receive(
        self, max_messages: int, visibility_timeout: timedelta, wait: timedelta
    ) -> list[Message]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait.total_seconds()
        while True:
            claimed = self._claim(max_messages, visibility_timeout)
            remaining = deadline - loop.time()
            if claimed or remaining <= 0:
                return claimed
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), min(remaining, self._POLL_SECONDS))

    def _claim(self, max_messages: int, visibility_timeout: timedelta) -> list[Message]:
        now = self._clock.now()
        visible = sorted(
            (m for m in self._messages.values() if m.visible_at <= now),
            key=lambda m: m.sent_at,
        )
        claimed: list[Message] = []
        for stored in visible:
            if len(claimed) == max_messages:
                break
            if stored.receive_count >= self._max_receives:
                self._bury(stored, dead_letter_reason(FailureReason.MAX_RECEIVES))
                continue
            stored.receive_count += 1
            stored.receipt = uuid.uuid4().hex
            stored.visible_at = now + visibility_timeout
            claimed.append(Message(stored.id, stored.receipt, stored.body, stored.receive_count))
        return claimed

    async def delete_batch(self, receipts: Sequence[str]) -> None:
        wanted = set(receipts)
        for stored in list(self._messages.values()):
            if stored.receipt in wanted:
                del self._messages[stored.id]

    async def change_visibility_batch(self, changes: Sequence[VisibilityChange]) -> None:
        now = self._clock.now()
        by_receipt = {m.receipt: m for m in self._messages.values() if m.receipt is not None}
        for change in changes:
            stored = by_receipt.get(change.receipt)
            if stored is not None:
                stored.visible_at = now + change.delay

    async def dead_letter(self, message: Message, reason: str) -> None:
        stored = self._messages.get(message.id)
        if stored is not None and stored.receipt == message.receipt:
            self._bury(stored, reason)

    async def depth(self) -> QueueDepth:
        now = self._clock.now()
        visible = [m for m in self._messages.values() if m.visible_at <= now]
        oldest = min((m.sent_at for m in self._messages.values()), default=None)
        return QueueDepth(
            visible=len(visible),
            in_flight=len(self._messages) - len(visible),
            dead=len(self.dead),
            oldest_age_seconds=(now - oldest).total_seconds() if oldest else None,
        )

    async def list_dead(self, limit: int) -> list[DeadMessage]:
        oldest_first = sorted(self.dead, key=lambda m: m.sent_at)[:limit]
        return [
            DeadMessage(m.id, m.body, m.dead_reason or "", m.receive_count, m.sent_at)
            for m in oldest_first
        ]

    async def redrive(self, limit: int) -> int:
        revived = sorted(self.dead, key=lambda m: m.sent_at)[:limit]
        now = self._clock.now()
        for stored in revived:
            self.dead.remove(stored)
            stored.visible_at, stored.receive_count = now, 0
            stored.receipt = stored.dead_reason = None
            self._messages[stored.id] = stored
        if revived:
            self._arrived.set()
        return len(revived)

    async def purge_dead(self) -> int:
        purged = len(self.dead)
        self.dead.clear()
        return purged

    def _bury(self, stored: _Stored, reason: str) -> None:
        del self._messages[stored.id]
        stored.dead_reason = reason
        stored.receipt = None
        self.dead.append(stored)
