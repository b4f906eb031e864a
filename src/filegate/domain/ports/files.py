"""File rows and their history: the repository every use case reads and writes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from filegate.domain.models import (
    FileRecord,
    Page,
    PrintSize,
    StateChange,
    Transition,
)
from filegate.domain.quotas import QuotaExceeded, QuotaLimits
from filegate.domain.similarity import SimilarFile
from filegate.domain.states import FileState


class FileRepository(Protocol):
    """File rows and their append-only history."""

    async def add(
        self,
        record: FileRecord,
        idempotency_key: str | None = None,
        limits: QuotaLimits | None = None,
        *,
        dedupe: bool = False,
    ) -> FileRecord:
        """Insert ``record`` (state REGISTERED) with its first history row.

        With ``dedupe`` and a declared SHA-256 equal to one of the owner's READY files
        (the oldest, if several), insert nothing and return that file instead (checked
        first, in the same transaction). With an ``idempotency_key`` already used by the
        same owner, insert nothing and return the file created the first time.

        The owner's usage (:mod:`filegate.domain.quotas`) grows in the same transaction;
        with ``limits``, raise :class:`~filegate.domain.quotas.QuotaExceeded` (inserting
        nothing) when the file does not fit. Concurrent adds never take usage past a limit.
        Every :meth:`transition` adjusts usage in its own compare-and-set transaction.
        """
        ...

    async def add_many(
        self,
        records: Sequence[FileRecord],
        limits: QuotaLimits | None = None,
        *,
        dedupe: bool = False,
    ) -> list[FileRecord | QuotaExceeded]:
        """Insert ``records`` and their first history rows, all in one transaction.

        With ``dedupe``, a record whose declared SHA-256 equals one of its owner's READY
        files yields that file in place (as :meth:`add` would), is not written and counts
        nothing.

        Items are admitted in order against their owner's quota exactly as :meth:`add`
        would admit them one after another: an item over ``limits`` yields its
        ``QuotaExceeded`` in place and is not written; later, smaller items may still fit.
        Returns one outcome per record, in order. Batches carry no idempotency keys; a
        duplicate id or object key raises ``ValueError`` (inserting nothing).
        """
        ...

    async def get(self, file_id: str) -> FileRecord | None:
        """The file with this id, whoever owns it."""
        ...

    async def get_owned(self, owner: str, file_id: str) -> FileRecord | None:
        """The file with this id if ``owner`` owns it, else ``None``."""
        ...

    async def get_by_key(self, object_key: str) -> FileRecord | None:
        """The file stored under ``object_key``."""
        ...

    async def get_many_by_key(self, object_keys: Sequence[str]) -> dict[str, FileRecord]:
        """The files with these object keys (missing keys absent), in one read."""
        ...

    async def list_owned(
        self, owner: str, state: FileState | None, limit: int, cursor: str | None
    ) -> Page:
        """The owner's files, newest first, ``limit`` at a time; ``cursor`` continues a page.

        Raises ``ValueError`` for a cursor this repository did not produce.
        """
        ...

    async def transition(
        self, file_id: str, expected: FileState, change: StateChange
    ) -> FileRecord | None:
        """Compare-and-set: move the file from ``expected`` to ``change.target``.

        On success write one history row and return the updated file; return ``None``
        when the file is missing or not in ``expected`` (nothing is written). Raises
        ``ValueError`` when the transition itself is not allowed.
        """
        ...

    async def transition_many(
        self, changes: Sequence[tuple[str, FileState, StateChange]]
    ) -> list[FileRecord | None]:
        """Each (file_id, expected, change) as its own compare-and-set, all in one transaction;
        per item the updated record or None (not in expected / missing: nothing written for it).
        A forbidden transition raises ValueError before anything is written."""
        ...

    async def history(self, file_id: str) -> list[Transition]:
        """The file's transitions, oldest first."""
        ...

    async def registered_before(self, deadline: datetime, limit: int) -> list[FileRecord]:
        """Up to ``limit`` REGISTERED files whose upload deadline is before ``deadline``."""
        ...

    async def set_multipart_upload(self, file_id: str, upload_id: str) -> FileRecord | None:
        """Attach a multipart upload to a REGISTERED file that has none yet.

        Returns the updated file, or ``None`` (nothing written) when the file is missing,
        no longer REGISTERED, or already has one (another request won the race).
        """
        ...

    async def count_by_state(self) -> dict[FileState, int]:
        """How many files (of every owner) are in each state; every state is a key (0 if none)."""
        ...

    async def set_print_size(self, file_id: str, size: PrintSize | None) -> FileRecord | None:
        """Store the file's target print size (``None`` clears it) and bump its version.

        Returns the updated file, or ``None`` (nothing written) when the file is missing or
        DELETED. No history row: the state does not change.
        """
        ...

    async def similar_ready(
        self,
        owner: str,
        perceptual_hash: int,
        max_distance: int,
        limit: int,
        exclude_id: str | None = None,
    ) -> list[SimilarFile]:
        """Up to ``limit`` of the owner's READY files whose perceptual hash differs from
        ``perceptual_hash`` (unsigned 64-bit) in at most ``max_distance`` bits, without
        ``exclude_id``; nearest first, then newest, as
        :func:`~filegate.domain.similarity.nearest_first` orders them. Files without a
        hash are never listed. The cost may grow with the number of the owner's READY
        files (each adapter documents its own).
        """
        ...
