"""Builders of domain values for tests."""

from __future__ import annotations

import dataclasses
import hashlib
import uuid
from datetime import timedelta
from typing import Any

from filegate.domain.clock import SystemClock
from filegate.domain.models import FileRecord
from filegate.domain.ports import Clock
from filegate.domain.states import FileState

UPLOAD_WINDOW = timedelta(hours=1)


def make_record(
    owner: str = "user:alice", *, clock: Clock | None = None, **overrides: Any
) -> FileRecord:
    """A REGISTERED ``FileRecord`` with a fresh id; any field can be overridden.

    ``object_key`` is ``{owner-hash}/{id}`` (as the server makes it), ``created_at`` and
    ``updated_at`` come from ``clock`` (default: the system clock) unless given, and
    ``upload_expires_at`` is ``created_at`` + 1 h unless given.
    """
    file_id = overrides.pop("id", None) or uuid.uuid4().hex
    created_at = overrides.pop("created_at", None) or (clock or SystemClock()).now()
    owner_hash = hashlib.sha256(owner.encode()).hexdigest()[:16]
    record = FileRecord(
        id=file_id,
        owner=owner,
        object_key=f"{owner_hash}/{file_id}",
        filename="photo.jpg",
        declared_size=1024,
        declared_type="image/jpeg",
        declared_sha256=None,
        state=FileState.REGISTERED,
        created_at=created_at,
        updated_at=created_at,
        upload_expires_at=created_at + UPLOAD_WINDOW,
    )
    return dataclasses.replace(record, **overrides)
