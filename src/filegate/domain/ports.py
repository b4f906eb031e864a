"""Ports: one small Protocol per capability. Adapters implement them; the core uses them.

Adapters translate driver failures that may pass (connection refused, timeouts, throttling)
into :class:`filegate.domain.errors.BackendUnavailable`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

from filegate.domain.grants import UploadGrant
from filegate.domain.models import (
    DeadMessage,
    FileRecord,
    Inspection,
    ListedObject,
    Message,
    MultipartUpload,
    ObjectInfo,
    Page,
    PartUrl,
    QueueDepth,
    SignedRequest,
    StateChange,
    Transition,
    UploadedPart,
    UploadSpec,
    VisibilityChange,
)
from filegate.domain.quotas import QuotaExceeded, QuotaLimits, Usage
from filegate.domain.retention import Retention
from filegate.domain.sessions import Claim, GuestSession, RateDecision, SessionEnd
from filegate.domain.states import FileState


class FileRepository(Protocol):
    """File rows and their append-only history."""

    async def add(
        self,
        record: FileRecord,
        idempotency_key: str | None = None,
        limits: QuotaLimits | None = None,
    ) -> FileRecord:
        """Insert ``record`` (state REGISTERED) with its first history row.

        With an ``idempotency_key`` already used by the same owner, insert nothing and
        return the file created the first time.

        The owner's usage (:mod:`filegate.domain.quotas`) grows in the same transaction;
        with ``limits``, raise :class:`~filegate.domain.quotas.QuotaExceeded` (inserting
        nothing) when the file does not fit. Concurrent adds never take usage past a limit.
        Every :meth:`transition` adjusts usage in its own compare-and-set transaction.
        """
        ...

    async def add_many(
        self, records: Sequence[FileRecord], limits: QuotaLimits | None = None
    ) -> list[FileRecord | QuotaExceeded]:
        """Insert ``records`` and their first history rows, all in one transaction.

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


class Queue(Protocol):
    """An at-least-once queue with visibility timeouts (SQS semantics)."""

    async def send_batch(self, bodies: Sequence[str]) -> None:
        """Enqueue every body; all or nothing from the caller's point of view."""
        ...

    async def receive(
        self, max_messages: int, visibility_timeout: timedelta, wait: timedelta
    ) -> list[Message]:
        """Claim up to ``max_messages`` visible messages for ``visibility_timeout``.

        Waits up to ``wait`` when none is visible. Each claim gets a fresh receipt and
        increments the receive count. A message received more often than the queue's
        limit is moved to the dead-letter queue instead of being returned.
        """
        ...

    async def delete_batch(self, receipts: Sequence[str]) -> None:
        """Delete the messages claimed with these receipts; a stale receipt deletes nothing."""
        ...

    async def change_visibility(self, receipt: str, delay: timedelta) -> None:
        """Make a claimed message visible again after ``delay`` (zero: now)."""
        ...

    async def change_visibility_batch(self, changes: Sequence[VisibilityChange]) -> None:
        """Apply every change as :meth:`change_visibility` would, in as few calls as the
        backend allows. Stale receipts change nothing; a receipt named twice gets its last
        delay. If the call raises, some changes may already be applied: a message whose
        change was lost keeps its claim and comes back after its current timeout.
        """
        ...

    async def dead_letter(self, message: Message, reason: str) -> None:
        """Move a claimed message to the dead-letter queue now (it can never succeed).

        ``reason`` (see :func:`~filegate.domain.models.dead_letter_reason`) is stored as
        given; it is at most ``MAX_DEAD_REASON_LENGTH`` characters.
        """
        ...

    async def depth(self) -> QueueDepth:
        """How many messages wait, and how old the oldest is."""
        ...


class DeadLetters(Protocol):
    """Optional: a queue whose dead-letter queue can be listed, redriven and purged."""

    async def list_dead(self, limit: int) -> list[DeadMessage]:
        """Up to ``limit`` dead messages, oldest sent first."""
        ...

    async def redrive(self, limit: int) -> int:
        """Move up to ``limit`` dead messages back to the queue, visible now.

        Their receive count starts again from zero. Returns how many were moved.
        """
        ...

    async def purge_dead(self) -> int:
        """Delete every dead message; return how many there were."""
        ...


class UploadSigner(Protocol):
    """Presigns the one request that may write an object."""

    def sign_upload(self, key: str, spec: UploadSpec, expires_in: timedelta) -> SignedRequest:
        """A PUT bound to key, exact length, content type, SHA-256 (when given) and expiry."""
        ...


class DownloadSigner(Protocol):
    """Presigns reads of a stored object."""

    def sign_download(
        self, key: str, filename: str, content_type: str, expires_in: timedelta
    ) -> SignedRequest:
        """A GET that serves the object as ``content_type``, attached as ``filename``."""
        ...


class ObjectStore(Protocol):
    """Stored objects, read and removed by the core (writes come through signed URLs)."""

    async def head(self, key: str) -> ObjectInfo | None:
        """Size and ETag of the object, or ``None`` when it does not exist."""
        ...

    def read(self, key: str, chunk_size: int = 1 << 20) -> AsyncIterator[bytes]:
        """Stream the object's bytes; raises ``FileNotFoundError`` when it does not exist."""
        ...

    async def delete(self, key: str) -> None:
        """Remove the object; removing a missing object is not an error."""
        ...


class PartReference(Protocol):
    """A part named for completion: its 1-based number and the ETag its upload returned."""

    @property
    def number(self) -> int: ...

    @property
    def etag(self) -> str: ...


class MultipartUploads(Protocol):
    """Optional: a store that takes large objects in parts, each through its own signed URL.

    Keys are the same object keys as elsewhere. Completing writes the object once: an
    existing object is never replaced.
    """

    async def start_multipart(self, key: str, spec: UploadSpec) -> MultipartUpload:
        """Begin an upload of the object ``key`` with ``spec.content_type``."""
        ...

    def sign_parts(
        self,
        upload: MultipartUpload,
        part_numbers: Sequence[int],
        part_size: int,
        expires_in: timedelta,
    ) -> list[PartUrl]:
        """One signed PUT per part number (1..10,000), each bound to exactly ``part_size`` bytes.

        Asking again gives fresh URLs; a part uploaded twice keeps the last bytes.
        """
        ...

    async def list_parts(self, upload: MultipartUpload) -> list[UploadedPart]:
        """The parts stored so far, by number (to resume an interrupted upload)."""
        ...

    async def complete_multipart(
        self, upload: MultipartUpload, parts: Sequence[PartReference]
    ) -> ObjectInfo:
        """Assemble ``parts`` (ascending numbers) into the object and describe it.

        Raises ``FilegateError``: ``UPLOAD_INCOMPLETE`` when a part is missing, its ETag
        differs or a part other than the last is too small; ``ALREADY_UPLOADED`` when the
        object exists; ``NOT_FOUND`` when the upload is unknown (aborted, completed).
        """
        ...

    async def abort_multipart(self, upload: MultipartUpload) -> None:
        """Discard the upload and its parts; aborting an unknown upload is not an error."""
        ...

    async def stale_multipart_uploads(self, older_than: datetime) -> list[MultipartUpload]:
        """Uploads begun before ``older_than`` and never completed (to abort them)."""
        ...


class EventKeys(Protocol):
    """Optional: a store whose notifications name objects by a key of its own (e.g. with
    a prefix), to be mapped back to filegate's key."""

    def key_of_event(self, event_key: str) -> str | None:
        """filegate's key for the object an event names; ``None`` if it is not ours."""
        ...


class LocalPaths(Protocol):
    """Optional: a store whose objects are files on this machine (no copy needed)."""

    def path_of(self, key: str) -> Path:
        """The file holding the object (which may not exist)."""
        ...


class UploadGate(Protocol):
    """What a store that receives uploads itself (the local store) asks the core."""

    async def admit(self, key: str) -> None:
        """Raise ``FilegateError`` unless a file waiting for its bytes owns ``key``."""
        ...

    async def commit(self, key: str, info: ObjectInfo) -> None:
        """Record the written object and emit its event.

        Raises ``FilegateError`` when the file can no longer take it (expired, deleted);
        the store then removes the object, so nothing is left behind.
        """
        ...


class UploadLedger(Protocol):
    """Records a finished upload and enqueues its event, atomically where the backends allow."""

    async def record_upload(self, file_id: str, event_body: str) -> FileRecord | None:
        """Move the file REGISTERED → UPLOADED and enqueue ``event_body``.

        Returns ``None`` (and enqueues nothing) when the file is not REGISTERED.
        """
        ...


class ImageInspector(Protocol):
    """Identifies and decodes an image file within the configured limits."""

    async def inspect(self, path: Path) -> Inspection:
        """What the bytes at ``path`` are; raises ``BackendUnavailable`` if the pool fails."""
        ...


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...


# --- guest sessions, upload grants, rate limits (issue 4) ------------------------------


class SessionRepository(Protocol):
    """Guest sessions. Times are passed in: the adapter keeps no clock of its own."""

    async def add(self, session: GuestSession) -> None:
        """Insert a new session; raises ``ValueError`` when its id exists."""
        ...

    async def get(self, session_id: str) -> GuestSession | None:
        """The session with this id, ended or not."""
        ...

    async def end(self, session_id: str, reason: SessionEnd, now: datetime) -> GuestSession | None:
        """Compare-and-set: end a session not ended yet, and note its purge as requested.

        Returns the ended session; ``None`` when it is missing or already ended (so two
        racing ends, say a logout and the expiry sweep, end it once).
        """
        ...

    async def expired_open(self, now: datetime, limit: int) -> list[GuestSession]:
        """Up to ``limit`` sessions not ended whose expiry is at or before ``now``."""
        ...

    async def claim(self, session_id: str, user: str, now: datetime) -> Claim | None:
        """In one step: end a live session as CLAIMED by ``user`` (an owner key), move
        every file of the session to ``user`` (object keys unchanged; idempotency keys
        cleared; one history row per file with reason ``CLAIMED``) and its upload grants.

        A session already claimed by the same ``user`` is claimed again (moving files that
        arrived late), so a retried claim succeeds. ``None`` when the session is missing,
        expired, ended otherwise, or claimed by someone else.
        """
        ...

    async def overdue_purges(
        self, requested_before: datetime, now: datetime, limit: int
    ) -> list[GuestSession]:
        """Ended, unclaimed, unpurged sessions whose purge was last requested before
        ``requested_before``; their request time becomes ``now`` (so each is requested
        again once per interval, not on every sweep)."""
        ...

    async def mark_purged(self, session_id: str, now: datetime) -> None:
        """Record that the session's files are all deleted."""
        ...


class PurgeableFiles(Protocol):
    """The files an owner's purge deletes."""

    async def purgeable_files(self, owner: str, now: datetime, limit: int) -> list[FileRecord]:
        """Up to ``limit`` of ``owner``'s files not DELETED yet, oldest first, leaving out
        files whose retention pins them (indefinitely, or until after ``now``)."""
        ...


class GrantRepository(Protocol):
    """Upload grants and the files registered through them. Use counts are atomic."""

    async def add(self, grant: UploadGrant) -> None:
        """Insert a new grant; raises ``ValueError`` when its id exists."""
        ...

    async def get(self, grant_id: str) -> UploadGrant | None:
        """The grant with this id, whoever owns it, revoked or not."""
        ...

    async def take_uses(self, grant_id: str, wanted: int, now: datetime) -> int:
        """Take up to ``wanted`` uses at once; how many were taken (0 when the grant is
        missing, revoked, expired or exhausted). Concurrent takers never get more than
        the grant had in total."""
        ...

    async def give_back(self, grant_id: str, count: int) -> None:
        """Return ``count`` uses taken but not spent (refused or replayed registrations)."""
        ...

    async def revoke(self, grant_id: str, owner: str, now: datetime) -> bool:
        """Revoke ``owner``'s grant (again: no change); ``False`` when owner has no such grant."""
        ...

    async def revoke_owned(self, owner: str, now: datetime) -> int:
        """Revoke every unrevoked grant of ``owner``; how many."""
        ...

    async def link_file(self, grant_id: str, file_id: str) -> bool:
        """Record that the grant registered the file; ``False`` when already recorded."""
        ...

    async def registered(self, grant_id: str, file_id: str) -> bool:
        """Whether the grant registered the file."""
        ...


class RateLimiter(Protocol):
    """Fixed-window hit counters shared by every process using the same backend."""

    async def hit(self, bucket: str, limit: int, window: timedelta, now: datetime) -> RateDecision:
        """Count one hit in ``bucket``'s current window (windows start at multiples of
        ``window`` since the epoch); allowed while the count is at most ``limit``."""
        ...

    async def prune(self, before: datetime) -> int:
        """Forget windows that started before ``before``; how many."""
        ...


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


class DuplicateFinder(Protocol):
    """Finds an owner's verified file with given bytes (owner-scoped deduplication)."""

    async def ready_with_sha256(self, owner: str, sha256: str) -> FileRecord | None:
        """One of ``owner``'s READY files whose verified SHA-256 is ``sha256``, if any
        (the oldest, so the answer is stable).
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


class ObjectLister(Protocol):
    """Optional: a store whose objects can be listed (to find objects no file owns)."""

    def list_objects(self, prefix: str | None = None) -> AsyncIterator[ListedObject]:
        """Every object (whose key starts with ``prefix``), in no particular order; the
        store's own bookkeeping files and uploads in progress are not objects.
        """
        ...
