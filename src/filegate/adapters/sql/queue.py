"""The SQL queue: SQS standard-queue semantics in the ``queue_messages`` table.

A message is visible when ``visible_at <= now``. Receiving claims it: a fresh receipt, one
more receive, and ``visible_at`` pushed past the visibility timeout. Only the current
receipt can delete it or change its visibility; once it is received again, older receipts
are stale and do nothing. The dead-letter queue lives in the same table under the queue
name ``{name}-dlq``, with ``dead_reason`` set.

Claims are atomic. On PostgreSQL they lock their rows with ``FOR UPDATE SKIP LOCKED``, so
workers on many machines take disjoint messages without waiting on one another; on SQLite
every transaction starts with ``BEGIN IMMEDIATE`` (see ``sql_engine.create_engine``), which
serialises claimers. All times come from the injected clock, never from the database.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, and_, bindparam, case, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from filegate.adapters.sql.errors import translate_errors
from filegate.adapters.sql.schema import queue_messages
from filegate.domain.models import (
    DeadMessage,
    FailureReason,
    Message,
    QueueDepth,
    VisibilityChange,
    dead_letter_reason,
)
from filegate.domain.ports import Clock

_QUEUE_NAME_LENGTH = 100  # the width of queue_messages.queue
_DLQ_SUFFIX = "-dlq"

_t = queue_messages
_Claimable = Row[str, str, int]  # id, body, receive_count


class SqlQueue:
    """A ``Queue`` (and ``DeadLetters``) over the ``queue_messages`` table.

    ``max_receives`` is SQS's maxReceiveCount: a message may be received that many times;
    the next receive moves it to the dead-letter queue instead of returning it.
    ``poll_interval`` is how often a long-poll looks for messages while it waits.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        clock: Clock,
        name: str = "events",
        max_receives: int = 5,
        poll_interval: timedelta = timedelta(milliseconds=200),
    ) -> None:
        if not name or len(name) + len(_DLQ_SUFFIX) > _QUEUE_NAME_LENGTH:
            raise ValueError(f"queue name must have 1 to 96 characters: {name!r}")
        if max_receives < 1:
            raise ValueError("max_receives must be at least 1")
        if poll_interval <= timedelta(0):
            raise ValueError("poll_interval must be positive")
        self._engine = engine
        self._clock = clock
        self._name = name
        self._dlq = name + _DLQ_SUFFIX
        self._max_receives = max_receives
        self._poll_seconds = poll_interval.total_seconds()

    async def send_batch(self, bodies: Sequence[str]) -> None:
        """Insert every body in one transaction: all are enqueued, or none."""
        if not bodies:
            return
        now = self._clock.now()
        rows = [self._new_row(body, now) for body in bodies]
        async with translate_errors(), self._engine.begin() as conn:
            await conn.execute(insert(_t), rows)

    def _new_row(self, body: str, now: datetime) -> dict[str, Any]:
        return {
            "id": uuid.uuid4().hex,
            "queue": self._name,
            "body": body,
            "sent_at": now,
            "visible_at": now,
            "receipt": None,
            "receive_count": 0,
            "dead_reason": None,
        }

    async def receive(
        self, max_messages: int, visibility_timeout: timedelta, wait: timedelta
    ) -> list[Message]:
        """Claim up to ``max_messages`` visible messages, oldest first.

        When none is visible, poll again every ``poll_interval`` until ``wait`` (real time)
        has passed; a zero ``wait`` returns at once.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait.total_seconds()
        while True:
            claimed = await self._claim(max_messages, visibility_timeout)
            remaining = deadline - loop.time()
            if claimed or remaining <= 0:
                return claimed
            await asyncio.sleep(min(self._poll_seconds, remaining))

    async def _claim(self, max_messages: int, visibility_timeout: timedelta) -> list[Message]:
        now = self._clock.now()
        claimed: list[Message] = []
        async with translate_errors(), self._engine.begin() as conn:
            while len(claimed) < max_messages:
                seen = [m.id for m in claimed]
                rows = await self._lock_visible(conn, now, max_messages - len(claimed), seen)
                exhausted = [r.id for r in rows if r.receive_count >= self._max_receives]
                alive = [r for r in rows if r.receive_count < self._max_receives]
                await self._bury(
                    conn, exhausted, dead_letter_reason(FailureReason.MAX_RECEIVES), now
                )
                claimed += await self._lease(conn, alive, now + visibility_timeout)
                if not exhausted:  # burying freed slots: look again, else we are done
                    break
        return claimed

    async def _lock_visible(
        self, conn: AsyncConnection, now: datetime, limit: int, exclude: list[str]
    ) -> Sequence[_Claimable]:
        query = (
            select(_t.c.id, _t.c.body, _t.c.receive_count)
            .where(_t.c.queue == self._name, _t.c.visible_at <= now)
            .order_by(_t.c.sent_at, _t.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)  # rendered as nothing on SQLite
        )
        if exclude:  # with a zero timeout, rows leased by this claim are visible again
            query = query.where(_t.c.id.not_in(exclude))
        return (await conn.execute(query)).all()

    async def _lease(
        self, conn: AsyncConnection, rows: Sequence[_Claimable], until: datetime
    ) -> list[Message]:
        if not rows:
            return []
        leases = [{"b_id": r.id, "b_receipt": uuid.uuid4().hex, "b_until": until} for r in rows]
        statement = (
            update(_t)
            .where(_t.c.id == bindparam("b_id"))
            .values(
                receipt=bindparam("b_receipt"),
                receive_count=_t.c.receive_count + 1,
                visible_at=bindparam("b_until"),
            )
        )
        await conn.execute(statement, leases)
        return [
            Message(r.id, lease["b_receipt"], r.body, r.receive_count + 1)
            for r, lease in zip(rows, leases, strict=True)
        ]

    async def _bury(
        self, conn: AsyncConnection, ids: list[str], reason: str, now: datetime
    ) -> None:
        if ids:
            await conn.execute(
                update(_t)
                .where(_t.c.queue == self._name, _t.c.id.in_(ids))
                .values(self._dead_values(reason, now))
            )

    def _dead_values(self, reason: str, now: datetime) -> dict[str, Any]:
        return {"queue": self._dlq, "dead_reason": reason, "visible_at": now, "receipt": None}

    async def delete_batch(self, receipts: Sequence[str]) -> None:
        """Delete the messages holding these receipts; stale receipts match nothing."""
        if not receipts:
            return
        statement = delete(_t).where(_t.c.queue == self._name, _t.c.receipt.in_(receipts))
        async with translate_errors(), self._engine.begin() as conn:
            await conn.execute(statement)

    async def change_visibility_batch(self, changes: Sequence[VisibilityChange]) -> None:
        """Apply every change in one transaction, in order (stale receipts: nothing)."""
        if not changes:
            return
        now = self._clock.now()
        rows = [{"b_receipt": c.receipt, "b_until": now + c.delay} for c in changes]
        statement = (
            update(_t)
            .where(_t.c.queue == self._name, _t.c.receipt == bindparam("b_receipt"))
            .values(visible_at=bindparam("b_until"))
        )
        async with translate_errors(), self._engine.begin() as conn:
            await conn.execute(statement, rows)

    async def dead_letter(self, message: Message, reason: str) -> None:
        """Move ``message`` to the dead-letter queue now, if its receipt is still current."""
        statement = (
            update(_t)
            .where(
                _t.c.queue == self._name,
                _t.c.id == message.id,
                _t.c.receipt == message.receipt,
            )
            .values(self._dead_values(reason, self._clock.now()))
        )
        async with translate_errors(), self._engine.begin() as conn:
            await conn.execute(statement)

    async def depth(self) -> QueueDepth:
        """Visible, in-flight and dead counts; the age of the oldest message not dead."""
        now = self._clock.now()
        live = _t.c.queue == self._name
        statement = select(
            _count_where(and_(live, _t.c.visible_at <= now)),
            _count_where(and_(live, _t.c.visible_at > now)),
            _count_where(_t.c.queue == self._dlq),
            func.min(case((live, _t.c.sent_at))),
        ).where(_t.c.queue.in_([self._name, self._dlq]))
        async with translate_errors(), self._engine.begin() as conn:
            visible, in_flight, dead, oldest = (await conn.execute(statement)).one()
        age = (now - oldest).total_seconds() if oldest is not None else None
        return QueueDepth(int(visible), int(in_flight), int(dead), age)

    async def list_dead(self, limit: int) -> list[DeadMessage]:
        """Up to ``limit`` dead messages, oldest sent first."""
        query = (
            select(_t.c.id, _t.c.body, _t.c.dead_reason, _t.c.receive_count, _t.c.sent_at)
            .where(_t.c.queue == self._dlq)
            .order_by(_t.c.sent_at, _t.c.id)
            .limit(limit)
        )
        async with translate_errors(), self._engine.begin() as conn:
            rows = (await conn.execute(query)).all()
        return [
            DeadMessage(r.id, r.body, r.dead_reason or "", r.receive_count, r.sent_at) for r in rows
        ]

    async def redrive(self, limit: int) -> int:
        """Move up to ``limit`` dead messages (oldest first) back, visible now, count reset."""
        pick = (
            select(_t.c.id)
            .where(_t.c.queue == self._dlq)
            .order_by(_t.c.sent_at, _t.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        async with translate_errors(), self._engine.begin() as conn:
            ids = list((await conn.execute(pick)).scalars())
            if ids:
                await conn.execute(
                    update(_t)
                    .where(_t.c.queue == self._dlq, _t.c.id.in_(ids))
                    .values(self._revived_values(self._clock.now()))
                )
        return len(ids)

    def _revived_values(self, now: datetime) -> dict[str, Any]:
        return {
            "queue": self._name,
            "visible_at": now,
            "receive_count": 0,
            "receipt": None,
            "dead_reason": None,
        }

    async def purge_dead(self) -> int:
        """Delete every dead message; return how many there were."""
        async with translate_errors(), self._engine.begin() as conn:
            result = await conn.execute(delete(_t).where(_t.c.queue == self._dlq))
        return result.rowcount


def _count_where(condition: Any) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)
