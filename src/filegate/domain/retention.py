"""Retention: how long a file is kept, and the rules everyone who deletes files follows.

A file carries ``retain_until`` (a deadline, or none) and ``pinned`` (kept indefinitely).

* **retained** — pinned, or its deadline is still ahead. Nothing deletes a retained file on
  its own account: a guest session's purge skips it, so it outlives its session.
* **due** — not pinned and its deadline has passed. The lifecycle sweep deletes it. Being
  due is final: a retention change is refused once the deadline has passed, so a file
  never comes back from "due" while its deletion is under way.
* neither (no deadline, not pinned) — a user's file is kept until deleted; a guest file
  lives as long as its session.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

from filegate.domain.errors import ErrorCode, FilegateError
from filegate.domain.models import FileRecord
from filegate.domain.states import FileState


def is_retained(record: FileRecord, now: datetime) -> bool:
    """Whether ``record`` must be kept at ``now``: pinned, or its deadline is still ahead."""
    return record.pinned or (record.retain_until is not None and record.retain_until > now)


def is_due(record: FileRecord, now: datetime) -> bool:
    """Whether the lifecycle must delete ``record`` at ``now``: not pinned, deadline passed."""
    if record.state is FileState.DELETED or record.pinned or record.retain_until is None:
        return False
    return record.retain_until <= now


class _Keep(Enum):
    KEEP = "keep"


KEEP = _Keep.KEEP
"""A field of a :class:`RetentionUpdate` that is not given: its current value stays."""


@dataclass(frozen=True)
class Retention:
    """A file's retention, as stored."""

    retain_until: datetime | None = None
    pinned: bool = False

    @classmethod
    def of(cls, record: FileRecord) -> Retention:
        return cls(record.retain_until, record.pinned)


@dataclass(frozen=True)
class RetentionUpdate:
    """A change of retention; fields left at :data:`KEEP` stay as they are."""

    retain_until: datetime | _Keep | None = KEEP
    pinned: bool | _Keep = KEEP

    def applied_to(self, current: Retention) -> Retention:
        """The retention ``current`` becomes with this update."""
        until = current.retain_until if self.retain_until is KEEP else self.retain_until
        pinned = current.pinned if self.pinned is KEEP else self.pinned
        return Retention(until, pinned)


def check_retention(retention: Retention, now: datetime, max_ahead: timedelta) -> None:
    """Raise VALIDATION_ERROR unless a deadline is in the future and, for a file that is not
    pinned, at most ``max_ahead`` from ``now``.
    """
    until = retention.retain_until
    if until is None:
        return
    if until.tzinfo is None:
        raise _invalid("retain_until must carry a time zone (RFC 3339).")
    if until <= now:
        raise _invalid("retain_until must be in the future.")
    if not retention.pinned and until - now > max_ahead:
        raise FilegateError(
            ErrorCode.VALIDATION_ERROR,
            f"retain_until may be at most {max_ahead.days} days ahead unless the file is pinned.",
            {"max_retention_days": max_ahead.days},
        )


def _invalid(detail: str) -> FilegateError:
    return FilegateError(ErrorCode.VALIDATION_ERROR, detail)
