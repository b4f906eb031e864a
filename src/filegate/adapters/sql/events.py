"""The outbox over the ``events`` table: written inside the transactions that cause events,
read by event streams (:class:`SqlEventLog` as ``EventFeed``) and the webhook relay
(``EventOutbox``).

**Order of visibility.** A stream must never skip an event: once it has passed a cursor, no
event may later appear before it. SQLite's one writer commits in ``seq`` order, so the
cursor is the ``seq``. On PostgreSQL transactions commit out of the order they took their
``seq`` numbers in, so each row also records its writing transaction's id (``tx``, a column
default) and readers order by ``(tx, seq)`` and only read rows whose transaction is older
than every transaction still in progress (``pg_snapshot_xmin``): everything below that
horizon is committed, everything at or above it sorts after. A long-running writing
transaction elsewhere on the database therefore delays the stream (not the writes).

**Streams share one reader.** A process's streams are answered from its
:class:`~filegate.adapters.sql.event_tail.EventTail`, which reads every owner's new events in
one query per wake-up; a stream reads the log itself only for a cursor older than what the
tail holds (a resumed stream), up to the tail's floor.

**Wake-ups.** Writers signal the ``EVENTS`` name through
:mod:`~filegate.adapters.sql.queue_signals`: a ``NOTIFY`` delivered at commit on PostgreSQL
(the tails and relays of other processes wake too); on SQLite an in-process wake-up. Readers
also look again every ``POLL_SECONDS``, so that an event held back by the horizon is never
waited on for long.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    Text,
    delete,
    func,
    insert,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.engine import Row

from filegate.adapters.sql.database import Database
from filegate.adapters.sql.event_tail import Entry, EventTail, Page, Position, TailStopped
from filegate.adapters.sql.queue_signals import QueueSignals, signals_for
from filegate.adapters.sql.schema import events
from filegate.domain.clock import SystemClock
from filegate.domain.events import (
    Event,
    EventRenderer,
    EventType,
    StoredEvent,
    file_events,
    make_event,
)
from filegate.domain.models import FileRecord
from filegate.domain.ports import Clock
from filegate.domain.sessions import Claim, GuestSession

EVENTS = "~events"
"""The wake-up name writers signal (no SQL queue can have it: names are plain words)."""
POLL_SECONDS = 5.0
TAIL_PAGE = 500
"""Most events the tail reads at once (it reads again at once after a full page)."""


class Outbox:
    """Writes events inside the caller's transaction, then wakes their readers.

    ``relay``: whether a webhook relay will hand these events on (webhook endpoints are
    configured). Without one, events are stored as already relayed, so that pruning can
    remove them when they age out of the stream's window.
    """

    def __init__(self, renderer: EventRenderer, signals: QueueSignals, *, relay: bool) -> None:
        self._renderer = renderer
        self._signals = signals
        self._relay = relay

    def files_changed(
        self, connection: Connection, records: Sequence[FileRecord], at: datetime
    ) -> None:
        """Record the events of ``records``, which have just changed state (none for states
        without an event)."""
        self.append(connection, file_events(records, self._renderer, at))

    def session_ended(self, connection: Connection, session: GuestSession, at: datetime) -> None:
        event = make_event(
            EventType.SESSION_ENDED,
            owner=session.owner.key,
            subject=session.id,
            occurred_at=at,
            data=self._renderer.session(session),
        )
        self.append(connection, [event])

    def session_claimed(self, connection: Connection, claim: Claim, at: datetime) -> None:
        user = claim.session.claimed_by
        assert user is not None, "a claim names its user"
        event = make_event(
            EventType.SESSION_CLAIMED,
            owner=user,
            subject=claim.session.id,
            occurred_at=at,
            data=self._renderer.claim(claim),
        )
        self.append(connection, [event])

    def append(self, connection: Connection, new: Sequence[Event]) -> None:
        """Insert ``new`` (one ``executemany``) and signal them at commit."""
        if not new:
            return
        connection.execute(_INSERT, [self._row_of(event) for event in new])
        self._signals.notify_in(connection, EVENTS)

    def committed(self) -> None:
        """After the transaction that appended events committed: wake this process's readers."""
        self._signals.committed(EVENTS)

    def _row_of(self, event: Event) -> dict[str, Any]:
        return {
            "id": event.id,
            "type": event.type.value,
            "owner": event.owner,
            "subject": event.subject,
            "occurred_at": event.occurred_at,
            "body": event.body,
            "trace_parent": event.trace_parent,
            "relayed_at": None if self._relay else event.occurred_at,
        }


_INSERT = insert(events)


class SqlEventLog:
    """``EventFeed`` and ``EventOutbox`` over the ``events`` table (see the module docstring)."""

    def __init__(
        self, database: Database, clock: Clock | None = None, *, tail_capacity: int = 4096
    ) -> None:
        """``tail_capacity``: how many of the newest events the process keeps for its
        streams (a few MiB at the default)."""
        self._database = database
        self._clock = clock or SystemClock()
        self._signals = signals_for(database)
        self._postgres = database.is_postgres
        self._tail = EventTail(
            self._present,
            self._read_after,
            self._signals,
            EVENTS,
            capacity=tail_capacity,
            page=TAIL_PAGE,
            poll_seconds=POLL_SECONDS,
        )

    async def head(self) -> str:
        return encode_position(*await self._present())

    async def follow(
        self, owner: str, cursor: str, limit: int, wait: timedelta
    ) -> list[StoredEvent]:
        position = decode_position(cursor)
        deadline = time.monotonic() + wait.total_seconds()
        async with self._tail.following():
            while True:
                floor = await self._tail.floor()
                if position < floor:  # older than the tail's memory: read the settled range
                    settled = await self._settled(owner, position, floor, limit)
                    if settled:
                        return settled
                    position = floor
                found = self._tail.after(owner, position, limit)
                if found is None:  # the floor rose past the position meanwhile
                    continue
                remaining = deadline - time.monotonic()
                if found or remaining <= 0:
                    return found
                with contextlib.suppress(TailStopped):
                    await self._tail.wait(owner, remaining)

    async def close(self) -> None:
        """Stop the tail (at shutdown)."""
        await self._tail.close()

    async def claim_unrelayed(self, limit: int, lease: timedelta) -> list[Event]:
        now = self._clock.now()
        due = (
            select(events.c.seq)
            .where(
                events.c.relayed_at.is_(None),
                or_(events.c.relay_lease_until.is_(None), events.c.relay_lease_until < now),
            )
            .order_by(events.c.seq)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        statement = (
            update(events)
            .where(events.c.seq.in_(due.scalar_subquery()))
            .values(relay_lease_until=now + lease)
            .returning(*events.c)
        )
        rows = await self._database.write(lambda c: c.execute(statement).all())
        return [_event_of(row) for row in sorted(rows, key=lambda row: row.seq)]

    def arm(self) -> Callable[[timedelta], Awaitable[bool]]:
        ticket = self._signals.ticket(EVENTS)

        async def wait(longest: timedelta) -> bool:
            return await self._signals.wait(ticket, longest.total_seconds())

        return wait

    async def mark_relayed(self, event_ids: Sequence[str]) -> None:
        if not event_ids:
            return
        statement = (
            update(events)
            .where(events.c.id.in_(list(event_ids)))
            .values(relayed_at=self._clock.now(), relay_lease_until=None)
        )
        await self._database.write(lambda c: c.execute(statement))

    async def since(
        self, moment: datetime, types: Sequence[EventType], limit: int, after_id: str | None
    ) -> list[Event]:
        conditions: list[ColumnElement[bool]] = [events.c.occurred_at >= moment]
        if types:
            conditions.append(events.c.type.in_([t.value for t in types]))
        if after_id is not None:
            after = select(events.c.seq).where(events.c.id == after_id).scalar_subquery()
            conditions.append(events.c.seq > after)
        query = select(events).where(*conditions).order_by(events.c.seq).limit(limit)
        rows = await self._database.read(lambda c: c.execute(query).all())
        return [_event_of(row) for row in rows]

    async def prune(self, before: datetime, limit: int) -> int:
        old = (
            select(events.c.seq)
            .where(events.c.occurred_at < before, events.c.relayed_at.is_not(None))
            .order_by(events.c.seq)
            .limit(limit)
        )
        statement = delete(events).where(events.c.seq.in_(old.scalar_subquery()))
        result = await self._database.write(lambda c: c.execute(statement))
        return int(result.rowcount or 0)

    async def _present(self) -> Position:
        """Where the log is now: every event before it has committed (or never will)."""
        if self._postgres:
            horizon = await self._database.read(lambda c: c.execute(select(_HORIZON)).scalar_one())
            return (int(horizon), 0)
        last = await self._database.read(
            lambda c: c.execute(select(func.max(events.c.seq))).scalar()
        )
        return (0, int(last or 0))

    async def _read_after(self, position: Position, limit: int) -> Page:
        """Every owner's events after ``position`` (the tail's read).

        On PostgreSQL the horizon is read first, then only rows below it: all of those had
        committed before the second statement's snapshot, so the read reaches the horizon.
        """

        def read(connection: Connection) -> Page:
            horizon = (
                int(connection.execute(select(_HORIZON)).scalar_one()) if self._postgres else 0
            )
            conditions = [tuple_(events.c.tx, events.c.seq) > tuple_(*position)]
            if self._postgres:
                conditions.append(events.c.tx < horizon)
            query = (
                select(events).where(*conditions).order_by(events.c.tx, events.c.seq).limit(limit)
            )
            entries = [Entry((row.tx, row.seq), _stored(row)) for row in connection.execute(query)]
            if len(entries) == limit or not self._postgres:
                return entries, entries[-1].position if entries else position
            return entries, (horizon, 0)

        return await self._database.read(read)

    async def _settled(
        self, owner: str, after: Position, upto: Position, limit: int
    ) -> list[StoredEvent]:
        """``owner``'s events after ``after`` and up to ``upto`` (a settled range)."""
        position = tuple_(events.c.tx, events.c.seq)
        query = (
            select(events)
            .where(events.c.owner == owner, position > tuple_(*after), position <= tuple_(*upto))
            .order_by(events.c.tx, events.c.seq)
            .limit(limit)
        )
        rows = await self._database.read(lambda c: c.execute(query).all())
        return [_stored(row) for row in rows]


# Every transaction below this id has ended; rows at or above it may still be invisible.
_HORIZON = func.pg_snapshot_xmin(func.pg_current_snapshot()).cast(Text).cast(BigInteger)


def encode_position(tx: int, seq: int) -> str:
    """The cursor of a stream position (what ``Last-Event-ID`` carries)."""
    return f"{tx}-{seq}"


def decode_position(cursor: str) -> tuple[int, int]:
    """Inverse of :func:`encode_position`; ``ValueError`` for anything else."""
    tx, separator, seq = cursor.partition("-")
    if not separator or not tx.isdigit() or not seq.isdigit() or len(cursor) > 41:
        raise ValueError(f"not an event cursor: {cursor!r}")
    return int(tx), int(seq)


def _event_of(row: Row[Any]) -> Event:
    values = row._mapping
    return Event(
        id=values["id"],
        type=EventType(values["type"]),
        owner=values["owner"],
        subject=values["subject"],
        occurred_at=values["occurred_at"],
        body=values["body"],
        trace_parent=values["trace_parent"],
    )


def _stored(row: Row[Any]) -> StoredEvent:
    return StoredEvent(encode_position(row.tx, row.seq), _event_of(row))
