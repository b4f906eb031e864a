"""Opaque listing cursors: (created_at, id) of the last item of a page."""

import base64
import binascii
import json
from datetime import datetime

from filegate.domain.models import FileRecord


def encode_cursor(last: FileRecord) -> str:
    """A cursor that continues a newest-first listing after ``last``."""
    raw = json.dumps([last.created_at.isoformat(), last.id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """Inverse of :func:`encode_cursor`; raises ``ValueError`` for anything malformed."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created, file_id = json.loads(raw)
        at = datetime.fromisoformat(created)
    except (binascii.Error, json.JSONDecodeError, TypeError, ValueError) as exc:
        raise ValueError("malformed cursor") from exc
    if at.tzinfo is None or not isinstance(file_id, str):
        raise ValueError("malformed cursor")
    return at, file_id
