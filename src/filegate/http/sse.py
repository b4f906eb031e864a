"""Server-Sent Events framing: the text of each frame a ``text/event-stream`` carries.

A frame is a few ``field: value`` lines and a blank line. Only CR, LF and CRLF end a line
in this format, so a value is split on exactly those (``str.splitlines`` would also split
on characters such as U+2028 that JSON may carry unescaped, and change the data).
"""

from __future__ import annotations

import re
from datetime import timedelta

from filegate.domain.events import StoredEvent

MEDIA_TYPE = "text/event-stream"
KEEPALIVE = ": keep-alive\n\n"
"""A comment frame: clients ignore it; proxies see traffic on an idle stream."""

_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def event_frame(stored: StoredEvent) -> str:
    """``stored`` as one event: its cursor as ``id``, its type as ``event``, its body as
    ``data`` (one ``data`` line per line of the body; a client joins them back with LF)."""
    lines = [f"id: {stored.cursor}", f"event: {stored.event.type.value}"]
    lines += [f"data: {line}" for line in _LINE_BREAK.split(stored.event.body)]
    return "\n".join(lines) + "\n\n"


def opening_frame(retry: timedelta, cursor: str) -> str:
    """The first frame: the reconnection delay to use, and ``cursor`` as the last event id.

    It carries no data, so clients dispatch no event for it; they only remember the id, so
    a client cut off before its first event resumes from where this stream began.
    """
    return f"retry: {int(retry.total_seconds() * 1000)}\nid: {cursor}\n\n"
