"""Notifications: what happened to a file or a guest session, as webhooks and streams send it.

An :class:`Event` is written in the same transaction as the change that causes it (the
outbox) and never changes afterwards. Its ``body`` is the exact JSON that a webhook
receiver and an event-stream client get, in the Standard Webhooks shape::

    {"type": "file.ready", "timestamp": "2026-12-03T10:00:00.123456Z", "data": {...}}

``data`` is the file as the API returns it (``GET /v1/files/{id}``, never with a signed
URL), or the session as the sessions API returns it. ``id`` is the webhook-id: the same on
every delivery attempt and every stream that carries the event.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol

from filegate.domain.models import FileRecord
from filegate.domain.sessions import Claim, GuestSession
from filegate.domain.states import FileState


class EventType(StrEnum):
    """Every kind of event; subscribers name the ones they want."""

    FILE_READY = "file.ready"
    FILE_REJECTED = "file.rejected"
    FILE_DELETED = "file.deleted"
    FILE_EXPIRED = "file.expired"
    SESSION_ENDED = "session.ended"
    SESSION_CLAIMED = "session.claimed"


_FILE_EVENTS: Mapping[FileState, EventType] = {
    FileState.READY: EventType.FILE_READY,
    FileState.REJECTED: EventType.FILE_REJECTED,
    FileState.DELETED: EventType.FILE_DELETED,
    FileState.EXPIRED: EventType.FILE_EXPIRED,
}


def file_event_type(state: FileState) -> EventType | None:
    """The event a transition into ``state`` causes, if any (REGISTERED, UPLOADED: none)."""
    return _FILE_EVENTS.get(state)


@dataclass(frozen=True)
class Event:
    """One thing that happened (see the module docstring).

    ``owner`` is whose stream carries it (the file's owner; for a claim, the claiming user);
    ``subject`` is the file id or the session id.
    """

    id: str
    type: EventType
    owner: str
    subject: str
    occurred_at: datetime
    body: str
    trace_parent: str | None = None
    """W3C ``traceparent`` of the trace the event belongs to (its file's), when traced."""


@dataclass(frozen=True)
class StoredEvent:
    """An event and its position in the stream (``cursor``: opaque, for ``Last-Event-ID``)."""

    cursor: str
    event: Event


class EventRenderer(Protocol):
    """Renders what an event carries as its ``data``, exactly as the API shows it."""

    def file(self, record: FileRecord) -> Mapping[str, Any]:
        """The file as ``GET /v1/files/{id}`` returns it (without upload instructions)."""
        ...

    def session(self, session: GuestSession) -> Mapping[str, Any]:
        """The session as the sessions API returns it."""
        ...

    def claim(self, claim: Claim) -> Mapping[str, Any]:
        """A claim as ``POST /v1/sessions/{id}/claim`` returns it."""
        ...


EVENT_ID_PREFIX = "evt_"


def new_event_id() -> str:
    """A fresh, unguessable event id (the webhook-id)."""
    return EVENT_ID_PREFIX + secrets.token_urlsafe(16)


def make_event(
    type: EventType,
    *,
    owner: str,
    subject: str,
    occurred_at: datetime,
    data: Mapping[str, Any],
    event_id: str | None = None,
    trace_parent: str | None = None,
) -> Event:
    """An event whose body carries ``type``, ``occurred_at`` (RFC 3339, UTC) and ``data``;
    ``trace_parent`` is the trace it belongs to (its file's), carried beside the body."""
    body = {"type": type.value, "timestamp": rfc3339(occurred_at), "data": data}
    return Event(
        id=event_id or new_event_id(),
        type=type,
        owner=owner,
        subject=subject,
        occurred_at=occurred_at,
        body=json.dumps(body, separators=(",", ":"), ensure_ascii=False, default=str),
        trace_parent=trace_parent,
    )


def file_events(
    records: Sequence[FileRecord], renderer: EventRenderer, at: datetime
) -> list[Event]:
    """The events of files that have just entered a state with an event (others: none),
    each in its file's trace."""
    events = []
    for record in records:
        type = file_event_type(record.state)
        if type is not None:
            data = renderer.file(record)
            event = make_event(
                type,
                owner=record.owner,
                subject=record.id,
                occurred_at=at,
                data=data,
                trace_parent=record.trace_parent,
            )
            events.append(event)
    return events


def rfc3339(moment: datetime) -> str:
    """``moment`` in UTC as RFC 3339 with microseconds and a ``Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
