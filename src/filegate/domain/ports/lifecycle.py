"""Retention, deduplication, usage counters and the reconciler's queries."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from filegate.domain.models import (
    FileRecord,
)
from filegate.domain.quotas import Usage
from filegate.domain.retention import Retention
from filegate.domain.states import FileState


class RetentionRepository(Protocol):
    """Retention deadlines of files (:mod:`filegate.domain.retention`)."""

    async def set_retention(
        self, file_id: str, expected_version: int, retention: Retention, now: datetime
    ) -> FileRecord | None:
        """Store ``retention`` if the file is still at ``expected_version``, not deleted and
        not due at ``now``; bump its version. ``None`` (nothing written) otherwise.
        """
        ...

    async def retention_due(self, now: datetime, limit: int) -> list[FileRecord]:
        """Up to ``limit`` files that are due at ``now`` (not pinned, not deleted,
        ``retain_until <= now``), earliest deadline first.
        """
        ...


class UsageLedger(Protocol):
    """Reading and repairing the per-owner usage counters that :meth:`FileRepository.add`
    and :meth:`FileRepository.transition` keep.
    """

    async def usage(self, owner: str) -> Usage:
        """The owner's current usage (zero for an owner without files)."""
        ...

    async def recount_usage(self) -> int:
        """Recompute every owner's usage from its files; return how many owners were wrong."""
        ...


class ReconcileQueries(Protocol):
    """What the reconciler asks the repository, page by page."""

    async def in_state(
        self, state: FileState, unchanged_since: datetime, after_id: str | None, limit: int
    ) -> list[FileRecord]:
        """Up to ``limit`` files in ``state`` whose last change is at or before
        ``unchanged_since``, by ascending id, starting after ``after_id``.
        """
        ...

    async def states_by_key(self, object_keys: Sequence[str]) -> dict[str, FileState]:
        """The state of the file stored under each of these keys; keys of no file are left out."""
        ...
