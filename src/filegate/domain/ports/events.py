"""The event log (the outbox) as its readers see it: streams, the webhook relay, replays."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from filegate.domain.events import Event, EventType, StoredEvent


class EventFeed(Protocol):
    """Committed events in stream order, for clients that follow them (``GET /v1/events``).

    The order is the order in which the events became visible: a reader that has seen the
    event at a cursor never later finds an earlier one it has not seen (on PostgreSQL too,
    where transactions commit out of the order they started in).
    """

    async def head(self) -> str:
        """The cursor of the present: following from it yields only events still to come."""
        ...

    async def follow(
        self, owner: str, cursor: str, limit: int, wait: timedelta
    ) -> list[StoredEvent]:
        """Up to ``limit`` of ``owner``'s events after ``cursor``, oldest first.

        When there is none yet, wait up to ``wait`` for one to commit (in this process or,
        on PostgreSQL, in any other) and return what came, possibly nothing. Raises
        ``ValueError`` for a cursor this feed did not produce. A cursor older than the
        retention window resumes at the oldest event still kept.
        """
        ...


class EventOutbox(Protocol):
    """Events still to be handed to the webhook relay, and replays of past events."""

    async def claim_unrelayed(self, limit: int, lease: timedelta) -> list[Event]:
        """Up to ``limit`` events not yet relayed, oldest first, each claimed for ``lease``
        (another relay does not get them until the lease ends, so a crashed relay's events
        come back)."""
        ...

    def arm(self) -> Callable[[timedelta], Awaitable[bool]]:
        """A wait that ends when events commit after this call (in any process on
        PostgreSQL), or after the time it is given; whether events came."""
        ...

    async def mark_relayed(self, event_ids: Sequence[str]) -> None:
        """These events were handed on: never claim them again."""
        ...

    async def since(
        self, moment: datetime, types: Sequence[EventType], limit: int, after_id: str | None
    ) -> list[Event]:
        """Up to ``limit`` events that occurred at or after ``moment`` (of ``types``, or any
        when empty), oldest first, continuing after ``after_id`` when given."""
        ...

    async def prune(self, before: datetime, limit: int) -> int:
        """Delete up to ``limit`` relayed events that occurred before ``before``; how many."""
        ...


class EndpointStates(Protocol):
    """Which webhook endpoints are disabled (shared by every worker through the database)."""

    async def disabled(self) -> dict[str, datetime]:
        """The disabled endpoints, by name, with when they were disabled."""
        ...

    async def record_gone(self, name: str, now: datetime, threshold: int) -> bool:
        """Count a 410 Gone answer; disable the endpoint at ``threshold`` in a row.

        Returns whether this call disabled it.
        """
        ...

    async def record_delivered(self, name: str) -> None:
        """A delivery succeeded: the count of 410s in a row starts again."""
        ...

    async def enable(self, name: str) -> bool:
        """Enable a disabled endpoint again; whether it was disabled."""
        ...
