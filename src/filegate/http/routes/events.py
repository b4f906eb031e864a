"""API v1: the live event stream, ``GET /v1/events`` (Server-Sent Events).

Mounted only where the app has an :class:`~filegate.domain.ports.EventFeed`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query
from fastapi.responses import StreamingResponse

from filegate.domain.errors import BackendUnavailable, ErrorCode, FilegateError
from filegate.domain.events import EventType, StoredEvent
from filegate.domain.ports import EventFeed
from filegate.http.context import EventStreamSettings
from filegate.http.deps import ContextDep, Reader
from filegate.http.openapi import may_fail_with
from filegate.http.sse import KEEPALIVE, MEDIA_TYPE, event_frame, opening_frame

log = logging.getLogger(__name__)

PAGE = 100
"""Most events read from the feed at once."""

STREAM_HEADERS = {
    "Cache-Control": "no-cache",
    "X-Accel-Buffering": "no",  # nginx would otherwise hold frames back in its buffer
}


class EventStreamResponse(StreamingResponse):
    """A ``text/event-stream`` answer (so the OpenAPI document names that type)."""

    media_type = MEDIA_TYPE


Types = Annotated[
    str | None,
    Query(
        max_length=500,
        description="Comma-separated event types to send (default: every type).",
        examples=["file.ready,file.rejected"],
    ),
]
LastEventIdQuery = Annotated[
    str | None,
    Query(description="Resume after this event id, for clients that cannot set headers."),
]
LastEventIdHeader = Annotated[
    str | None,
    Header(alias="Last-Event-ID", description="Resume after this event id (the `id:` sent)."),
]

_STREAM_EXAMPLE = (
    "retry: 3000\nid: 41\n\n"
    'id: 42\nevent: file.ready\ndata: {"type":"file.ready","timestamp":"…","data":{…}}\n\n'
    ": keep-alive\n\n"
)
_OK: dict[int | str, dict[str, Any]] = {
    200: {
        "description": (
            "The caller's events as they commit, one frame each: `id` (its cursor), "
            "`event` (its type), `data` (the webhook body). A `retry:` frame comes first, "
            "a `: keep-alive` comment when nothing else was sent for a while; the stream "
            "ends after a maximum duration, and the client reconnects with `Last-Event-ID`."
        ),
        "content": {MEDIA_TYPE: {"schema": {"type": "string"}, "example": _STREAM_EXAMPLE}},
    }
}


def events_router(feed: EventFeed) -> APIRouter:
    """``GET /v1/events`` over ``feed``."""
    router = APIRouter(prefix="/v1", tags=["events"])

    @router.get("/events", response_class=EventStreamResponse, responses=_OK)
    @may_fail_with(ErrorCode.INVALID_CURSOR)
    async def stream_events(
        principal: Reader,
        context: ContextDep,
        types: Types = None,
        last_event_id: LastEventIdQuery = None,
        last_event_id_header: LastEventIdHeader = None,
    ) -> EventStreamResponse:
        """Follow the caller's events live (Server-Sent Events).

        Without ``Last-Event-ID`` (header, or ``last_event_id`` parameter) the stream starts
        now; with one it first sends every event after that one still kept. INVALID_CURSOR
        for an id this stream never sent; VALIDATION_ERROR for an unknown type in ``types``.
        An upload grant may not follow (FORBIDDEN).
        """
        wanted = parse_types(types)
        owner = principal.owner.key
        cursor = last_event_id_header or last_event_id or await feed.head()
        first = await _first_page(feed, owner, cursor)
        stream = EventStream(feed, owner, wanted, context.settings.event_stream)
        return EventStreamResponse(stream.frames(cursor, first), headers=STREAM_HEADERS)

    return router


def parse_types(types: str | None) -> frozenset[EventType]:
    """The event types named in ``types`` (empty: every type); VALIDATION_ERROR for any
    other name."""
    names = {name.strip() for name in (types or "").split(",")} - {""}
    known = {kind.value for kind in EventType}
    unknown = sorted(names - known)
    if unknown:
        raise FilegateError(
            ErrorCode.VALIDATION_ERROR,
            f"Unknown event types: {', '.join(unknown)}.",
            {"known_types": sorted(known)},
        )
    return frozenset(EventType(name) for name in names)


async def _first_page(feed: EventFeed, owner: str, cursor: str) -> list[StoredEvent]:
    """What is already there after ``cursor``, read before the answer starts, so that a
    cursor the feed refuses is a 400 rather than a stream that breaks off."""
    try:
        return await feed.follow(owner, cursor, PAGE, timedelta(0))
    except ValueError as exc:
        raise FilegateError(
            ErrorCode.INVALID_CURSOR, "Last-Event-ID is not an event id of this stream."
        ) from exc


@dataclass(frozen=True)
class EventStream:
    """One client's stream: ``owner``'s events of ``types`` (all when empty)."""

    feed: EventFeed
    owner: str
    types: frozenset[EventType]
    pacing: EventStreamSettings

    async def frames(self, cursor: str, first: list[StoredEvent]) -> AsyncIterator[str]:
        """The frames to send: the opening frame, then events from ``first`` on, with
        keep-alive comments, until the maximum duration has passed.

        The client's disconnect cancels the pending ``follow`` (the response stops this
        generator), so nothing is left running after it. A backend failure ends the
        stream; the client reconnects and resumes.
        """
        keepalive = self.pacing.keepalive.total_seconds()
        end = time.monotonic() + self.pacing.max_duration.total_seconds()
        yield opening_frame(self.pacing.retry, cursor)
        quiet_since, batch = time.monotonic(), first
        while True:
            text = "".join(event_frame(s) for s in batch if self._wanted(s))
            cursor = batch[-1].cursor if batch else cursor
            now = time.monotonic()
            if text or now - quiet_since >= keepalive:
                yield text or KEEPALIVE
                quiet_since = now
            if now >= end:
                return
            wait = timedelta(seconds=min(quiet_since + keepalive, end) - now)
            try:
                batch = await self.feed.follow(self.owner, cursor, PAGE, wait)
            except BackendUnavailable as exc:
                log.warning("event stream ended: backend unavailable: %s", exc)
                return

    def _wanted(self, stored: StoredEvent) -> bool:
        return not self.types or stored.event.type in self.types
