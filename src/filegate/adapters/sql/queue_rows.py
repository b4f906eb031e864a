"""The ``queue_messages`` row of a message just sent, as the SQL queue reads it back."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any


def new_message_id() -> str:
    """A fresh message id (32 hex characters)."""
    return uuid.uuid4().hex


def new_message_row(
    queue: str, body: str, now: datetime, message_id: str | None = None
) -> dict[str, Any]:
    """Queue ``queue``, visible ``now``, never received, not dead; a fresh id unless given."""
    return {
        "id": message_id or new_message_id(),
        "queue": queue,
        "body": body,
        "sent_at": now,
        "visible_at": now,
        "receipt": None,
        "receive_count": 0,
        "dead_reason": None,
    }
