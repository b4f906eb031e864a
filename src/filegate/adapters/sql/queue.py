"""The SQL queue: SQS standard-queue semantics in the ``queue_messages`` table.

A message is visible when ``visible_at <= now``. Receiving claims it: a fresh receipt, one
more receive, and ``visible_at`` pushed past the visibility timeout. Only the current
receipt can delete it or change its visibility; once it is received again, older receipts
are stale and do nothing. The dead-letter queue lives in the same table under the queue
name ``{name}-dlq``, with ``dead_reason`` set.

Every operation is one transaction on a :class:`~filegate.adapters.sql.database.Database`;
send, receive, delete and change-visibility are short ones (``write_short``: on SQLite they
run on the event loop's thread when the write lock is free, sparing two thread hand-offs).
A claim is one statement (:mod:`filegate.adapters.sql.queue_claim`); on PostgreSQL it
skips rows other claimers hold, so workers on many machines take disjoint messages without
waiting on one another. All times come from the injected clock, never from the database.

A long-poll does not poll on the hot path: a send wakes the receivers waiting on its queue
(:mod:`filegate.adapters.sql.queue_signals`). Between wake-ups an idle receiver still looks
now and then, with an interval that doubles from ``poll_interval`` up to
``max_poll_interval`` (or sooner, when a message's visibility timeout ends sooner): that
finds messages no signal announced (a send from another process on SQLite, a timeout that
ran out).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import Connection, and_, case, delete, func, select, update

from filegate.adapters.sql.database import Database
from filegate.adapters.sql.queue_claim import Claim, next_visible
from filegate.adapters.sql.queue_rows import new_message_row
from filegate.adapters.sql.queue_signals import QueueSignals, signals_for
from filegate.adapters.sql.queue_statements import statements_for
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


class SqlQueue:
    """A ``Queue`` (and ``DeadLetters``) over the ``queue_messages`` table.

    ``max_receives`` is SQS's maxReceiveCount: a message may be received that many times;
    the next receive moves it to the dead-letter queue instead of returning it.
    ``poll_interval`` and ``max_poll_interval`` bound how often an idle long-poll looks
    without a wake-up (see the module docstring); the interval grows while the queue stays
    idle, across receives, and starts again at ``poll_interval`` once a message arrives.
    """

    def __init__(
        self,
        database: Database,
        clock: Clock,
        name: str = "events",
        max_receives: int = 5,
        poll_interval: timedelta = timedelta(milliseconds=50),
        max_poll_interval: timedelta = timedelta(seconds=2),
    ) -> None:
        if not name or len(name) + len(_DLQ_SUFFIX) > _QUEUE_NAME_LENGTH:
            raise ValueError(f"queue name must have 1 to 96 characters: {name!r}")
        if max_receives < 1:
            raise ValueError("max_receives must be at least 1")
        if not timedelta(0) < poll_interval <= max_poll_interval:
            raise ValueError("need 0 < poll_interval <= max_poll_interval")
        self._database = database
        self._statements = statements_for(database)
        self._clock = clock
        self._name = name
        self._dlq = name + _DLQ_SUFFIX
        self._max_receives = max_receives
        self._idle = _Backoff(poll_interval.total_seconds(), max_poll_interval.total_seconds())
        self.signals: QueueSignals = signals_for(database)
        """The wake-ups shared by the queues and ledgers on this database."""

    async def send_batch(self, bodies: Sequence[str]) -> None:
        """Insert every body in one transaction: all are enqueued, or none."""
        if not bodies:
            return
        now = self._clock.now()
        rows = [new_message_row(self._name, body, now) for body in bodies]
        await self._database.write_short(partial(self._insert, rows=rows))
        self.signals.committed(self._name)

    def _insert(self, connection: Connection, *, rows: list[dict[str, Any]]) -> None:
        self._statements.insert(connection, rows)
        self.signals.notify_in(connection, self._name)

    async def receive(
        self, max_messages: int, visibility_timeout: timedelta, wait: timedelta
    ) -> list[Message]:
        """Claim up to ``max_messages`` visible messages, oldest first.

        When none is visible, wait for a wake-up (or the next idle look) until ``wait``
        (real time) has passed; a zero ``wait`` returns at once. A wait that runs out
        unannounced returns nothing without a last look: the next receive looks first.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait.total_seconds()
        while True:
            ticket = self.signals.ticket(self._name)  # before looking: a send meanwhile sets it
            claimed, soonest = await self._look(max_messages, visibility_timeout, wait > _ZERO)
            remaining = deadline - loop.time()
            if claimed:
                self._idle.reset()
            if claimed or remaining <= 0:
                return claimed
            pause = min(self._idle.next(), remaining, max(soonest, _SHORTEST_PAUSE))
            if await self.signals.wait(ticket, pause):
                self._idle.reset()
            elif pause >= remaining:  # the wait is over and nothing announced a message
                return []

    async def _look(
        self, max_messages: int, visibility_timeout: timedelta, waits: bool
    ) -> tuple[list[Message], float]:
        """The claimed messages; when none and ``waits``, the seconds until one is visible."""
        now = self._clock.now()
        reason = dead_letter_reason(FailureReason.MAX_RECEIVES)
        spec = Claim(
            self._name, self._dlq, self._max_receives, reason, now, now + visibility_timeout
        )

        def work(connection: Connection) -> tuple[list[Message], datetime | None]:
            claimed = self._statements.claim(connection, spec, max_messages)
            later = next_visible(connection, self._name) if waits and not claimed else None
            return claimed, later

        claimed, later = await self._database.write_short(work)
        soonest = (later - now).total_seconds() if later is not None and later > now else _NEVER
        return claimed, soonest

    async def delete_batch(self, receipts: Sequence[str]) -> None:
        """Delete the messages holding these receipts; stale receipts match nothing."""
        if not receipts:
            return
        await self._database.write_short(
            lambda connection: self._statements.delete(connection, self._name, receipts)
        )

    async def change_visibility_batch(self, changes: Sequence[VisibilityChange]) -> None:
        """Apply every change in one transaction, in order (stale receipts: nothing)."""
        if not changes:
            return
        now = self._clock.now()
        rows = [(c.receipt, now + c.delay) for c in changes]
        visible_now = any(c.delay <= _ZERO for c in changes)

        def work(connection: Connection) -> None:
            self._statements.set_visible(connection, self._name, rows)
            if visible_now:
                self.signals.notify_in(connection, self._name)

        await self._database.write_short(work)
        if visible_now:
            self.signals.committed(self._name)

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
        await self._database.write(lambda connection: connection.execute(statement))

    def _dead_values(self, reason: str, now: datetime) -> dict[str, Any]:
        return {"queue": self._dlq, "dead_reason": reason, "visible_at": now, "receipt": None}

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
        row = await self._database.read(lambda connection: connection.execute(statement).one())
        visible, in_flight, dead, oldest = row
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
        rows = await self._database.read(lambda connection: connection.execute(query).all())
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
        statement = (
            update(_t)
            .where(_t.c.id.in_(pick.scalar_subquery()))
            .values(self._revived_values(self._clock.now()))
        )

        def work(connection: Connection) -> int:
            moved = connection.execute(statement).rowcount
            if moved:
                self.signals.notify_in(connection, self._name)
            return moved

        moved = await self._database.write(work)
        if moved:
            self.signals.committed(self._name)
        return moved

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
        statement = delete(_t).where(_t.c.queue == self._dlq)
        purged: int = await self._database.write(
            lambda connection: connection.execute(statement).rowcount
        )
        return purged


class _Backoff:
    """An interval that doubles from ``first`` up to ``cap`` on each :meth:`next`."""

    def __init__(self, first: float, cap: float) -> None:
        self._first = first
        self._cap = cap
        self._next = first

    def next(self) -> float:
        interval = self._next
        self._next = min(interval * 2, self._cap)
        return interval

    def reset(self) -> None:
        self._next = self._first


_ZERO = timedelta(0)
_NEVER = float("inf")
_SHORTEST_PAUSE = 0.01
"""Seconds: a message due sooner is looked for this late (not in a spin on a stopped clock)."""


def _count_where(condition: Any) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)
