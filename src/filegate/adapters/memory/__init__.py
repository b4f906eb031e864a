"""In-memory fakes of the ports, shipped with the code for tests and experiments.

They follow the same contracts as the real adapters (the contract suites prove it), but keep
everything in this process and lose it on exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import quote

from filegate.domain.clock import SystemClock
from filegate.domain.cursor import decode_cursor, encode_cursor
from filegate.domain.errors import BackendUnavailable
from filegate.domain.models import (
    DeadMessage,
    FailureReason,
    FileRecord,
    ImageInfo,
    Inspection,
    ListedObject,
    Message,
    ObjectInfo,
    Page,
    QueueDepth,
    SignedRequest,
    StateChange,
    Transition,
    UploadSpec,
    VisibilityChange,
    dead_letter_reason,
)
from filegate.domain.ports import Clock
from filegate.domain.quotas import QuotaExceeded, QuotaLimits, Usage, admission, usage_of
from filegate.domain.retention import Retention, is_due
from filegate.domain.states import FileState, can_transition


class MemoryRepository:
    """A ``FileRepository`` in a dict; also its retention, duplicate, usage and reconciler
    queries (usage is counted from the files themselves, so it is always exact).
    """

    def __init__(self, clock: Clock | None = None) -> None:
        self._clock = clock or SystemClock()
        self._files: dict[str, FileRecord] = {}
        self._history: list[Transition] = []
        self._idempotency: dict[tuple[str, str], str] = {}

    async def add(
        self,
        record: FileRecord,
        idempotency_key: str | None = None,
        limits: QuotaLimits | None = None,
    ) -> FileRecord:
        if idempotency_key is not None:
            existing = self._idempotency.get((record.owner, idempotency_key))
            if existing is not None:
                return self._files[existing]
        if record.id in self._files or any(
            f.object_key == record.object_key for f in self._files.values()
        ):
            raise ValueError("duplicate file id or object key")
        if limits is not None:
            current = await self.usage(record.owner)
            if (refusal := admission(current, limits, record.declared_size)) is not None:
                raise refusal
        if idempotency_key is not None:
            self._idempotency[(record.owner, idempotency_key)] = record.id
        self._files[record.id] = record
        self._history.append(
            Transition(record.id, None, record.state, None, "api", record.created_at)
        )
        return record

    async def add_many(
        self, records: Sequence[FileRecord], limits: QuotaLimits | None = None
    ) -> list[FileRecord | QuotaExceeded]:
        ids = [r.id for r in records]
        keys = [r.object_key for r in records]
        taken_keys = {f.object_key for f in self._files.values()}
        if (
            len(set(ids)) < len(ids)
            or len(set(keys)) < len(keys)
            or any(i in self._files for i in ids)
            or any(k in taken_keys for k in keys)
        ):
            raise ValueError("duplicate file id or object key")
        outcomes: list[FileRecord | QuotaExceeded] = []
        for record in records:
            try:
                outcomes.append(await self.add(record, None, limits))
            except QuotaExceeded as refusal:
                outcomes.append(refusal)
        return outcomes

    async def get(self, file_id: str) -> FileRecord | None:
        return self._files.get(file_id)

    async def get_owned(self, owner: str, file_id: str) -> FileRecord | None:
        record = self._files.get(file_id)
        return record if record is not None and record.owner == owner else None

    async def get_by_key(self, object_key: str) -> FileRecord | None:
        return next((f for f in self._files.values() if f.object_key == object_key), None)

    async def list_owned(
        self, owner: str, state: FileState | None, limit: int, cursor: str | None
    ) -> Page:
        after = decode_cursor(cursor) if cursor else None
        rows = sorted(
            (
                f
                for f in self._files.values()
                if f.owner == owner and (state is None or f.state is state)
            ),
            key=lambda f: (f.created_at, f.id),
            reverse=True,
        )
        if after is not None:
            rows = [f for f in rows if (f.created_at, f.id) < after]
        page = rows[:limit]
        more = len(rows) > limit
        return Page(page, encode_cursor(page[-1]) if more and page else None)

    async def transition(
        self, file_id: str, expected: FileState, change: StateChange
    ) -> FileRecord | None:
        if not can_transition(expected, change.target):
            raise ValueError(f"transition {expected} -> {change.target} is not allowed")
        current = self._files.get(file_id)
        if current is None or current.state is not expected:
            return None
        now = self._clock.now()
        updated = dataclasses.replace(
            current,
            state=change.target,
            reason=change.reason,
            detected_type=change.detected_type or current.detected_type,
            sha256=change.sha256 or current.sha256,
            image=change.image or current.image,
            last_sequencer=change.sequencer or current.last_sequencer,
            updated_at=now,
            version=current.version + 1,
        )
        self._files[file_id] = updated
        self._history.append(
            Transition(file_id, expected, change.target, change.reason, change.actor.value, now)
        )
        return updated

    async def history(self, file_id: str) -> list[Transition]:
        return [t for t in self._history if t.file_id == file_id]

    async def registered_before(self, deadline: datetime, limit: int) -> list[FileRecord]:
        due = [
            f
            for f in self._files.values()
            if f.state is FileState.REGISTERED and f.upload_expires_at < deadline
        ]
        return sorted(due, key=lambda f: f.upload_expires_at)[:limit]

    async def set_multipart_upload(self, file_id: str, upload_id: str) -> FileRecord | None:
        current = self._files.get(file_id)
        if current is None or current.state is not FileState.REGISTERED:
            return None
        if current.multipart_upload_id is not None:
            return None
        updated = dataclasses.replace(
            current, multipart_upload_id=upload_id, updated_at=self._clock.now()
        )
        self._files[file_id] = updated
        return updated

    async def count_by_state(self) -> dict[FileState, int]:
        counts = dict.fromkeys(FileState, 0)
        for record in self._files.values():
            counts[record.state] += 1
        return counts

    async def set_retention(
        self, file_id: str, expected_version: int, retention: Retention, now: datetime
    ) -> FileRecord | None:
        current = self._files.get(file_id)
        if current is None or current.version != expected_version:
            return None
        if current.state is FileState.DELETED or is_due(current, now):
            return None
        updated = dataclasses.replace(
            current,
            retain_until=retention.retain_until,
            pinned=retention.pinned,
            updated_at=now,
            version=current.version + 1,
        )
        self._files[file_id] = updated
        return updated

    async def retention_due(self, now: datetime, limit: int) -> list[FileRecord]:
        due = [f for f in self._files.values() if is_due(f, now)]
        return sorted(due, key=lambda f: (f.retain_until or now, f.id))[:limit]

    async def ready_with_sha256(self, owner: str, sha256: str) -> FileRecord | None:
        matches = [
            f
            for f in self._files.values()
            if f.owner == owner and f.sha256 == sha256 and f.state is FileState.READY
        ]
        return min(matches, key=lambda f: (f.created_at, f.id), default=None)

    async def usage(self, owner: str) -> Usage:
        total = Usage()
        for f in self._files.values():
            if f.owner == owner:
                total += usage_of(f.state, f.declared_size)
        return total

    async def recount_usage(self) -> int:
        return 0  # counted from the files on every read: never wrong

    async def in_state(
        self, state: FileState, unchanged_since: datetime, after_id: str | None, limit: int
    ) -> list[FileRecord]:
        rows = sorted(
            (
                f
                for f in self._files.values()
                if f.state is state
                and f.updated_at <= unchanged_since
                and (after_id is None or f.id > after_id)
            ),
            key=lambda f: f.id,
        )
        return rows[:limit]

    async def states_by_key(self, object_keys: Sequence[str]) -> dict[str, FileState]:
        wanted = set(object_keys)
        return {f.object_key: f.state for f in self._files.values() if f.object_key in wanted}


@dataclass
class _Stored:
    id: str
    body: str
    sent_at: datetime
    visible_at: datetime
    receipt: str | None = None
    receive_count: int = 0
    dead_reason: str | None = None


class MemoryQueue:
    """A ``Queue`` (and ``DeadLetters``) in lists, with visibility timeouts and a dead list.

    A long-poll wakes when messages are sent, and otherwise looks again every 50 ms, so it
    also sees messages whose visibility returned (a timeout passed, a receipt was released).
    """

    _POLL_SECONDS = 0.05

    def __init__(self, max_receives: int = 5, clock: Clock | None = None) -> None:
        self._clock = clock or SystemClock()
        self._max_receives = max_receives
        self._messages: dict[str, _Stored] = {}
        self.dead: list[_Stored] = []
        self._arrived = asyncio.Event()

    async def send_batch(self, bodies: Sequence[str]) -> None:
        now = self._clock.now()
        for body in bodies:
            message_id = uuid.uuid4().hex
            self._messages[message_id] = _Stored(message_id, body, now, now)
        if bodies:
            self._arrived.set()

    async def receive(
        self, max_messages: int, visibility_timeout: timedelta, wait: timedelta
    ) -> list[Message]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait.total_seconds()
        while True:
            claimed = self._claim(max_messages, visibility_timeout)
            remaining = deadline - loop.time()
            if claimed or remaining <= 0:
                return claimed
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), min(remaining, self._POLL_SECONDS))

    def _claim(self, max_messages: int, visibility_timeout: timedelta) -> list[Message]:
        now = self._clock.now()
        visible = sorted(
            (m for m in self._messages.values() if m.visible_at <= now),
            key=lambda m: m.sent_at,
        )
        claimed: list[Message] = []
        for stored in visible:
            if len(claimed) == max_messages:
                break
            if stored.receive_count >= self._max_receives:
                self._bury(stored, dead_letter_reason(FailureReason.MAX_RECEIVES))
                continue
            stored.receive_count += 1
            stored.receipt = uuid.uuid4().hex
            stored.visible_at = now + visibility_timeout
            claimed.append(Message(stored.id, stored.receipt, stored.body, stored.receive_count))
        return claimed

    async def delete_batch(self, receipts: Sequence[str]) -> None:
        wanted = set(receipts)
        for stored in list(self._messages.values()):
            if stored.receipt in wanted:
                del self._messages[stored.id]

    async def change_visibility(self, receipt: str, delay: timedelta) -> None:
        for stored in self._messages.values():
            if stored.receipt == receipt:
                stored.visible_at = self._clock.now() + delay

    async def change_visibility_batch(self, changes: Sequence[VisibilityChange]) -> None:
        for change in changes:
            await self.change_visibility(change.receipt, change.delay)

    async def dead_letter(self, message: Message, reason: str) -> None:
        stored = self._messages.get(message.id)
        if stored is not None and stored.receipt == message.receipt:
            self._bury(stored, reason)

    async def depth(self) -> QueueDepth:
        now = self._clock.now()
        visible = [m for m in self._messages.values() if m.visible_at <= now]
        oldest = min((m.sent_at for m in self._messages.values()), default=None)
        return QueueDepth(
            visible=len(visible),
            in_flight=len(self._messages) - len(visible),
            dead=len(self.dead),
            oldest_age_seconds=(now - oldest).total_seconds() if oldest else None,
        )

    async def list_dead(self, limit: int) -> list[DeadMessage]:
        oldest_first = sorted(self.dead, key=lambda m: m.sent_at)[:limit]
        return [
            DeadMessage(m.id, m.body, m.dead_reason or "", m.receive_count, m.sent_at)
            for m in oldest_first
        ]

    async def redrive(self, limit: int) -> int:
        revived = sorted(self.dead, key=lambda m: m.sent_at)[:limit]
        now = self._clock.now()
        for stored in revived:
            self.dead.remove(stored)
            stored.visible_at, stored.receive_count = now, 0
            stored.receipt = stored.dead_reason = None
            self._messages[stored.id] = stored
        if revived:
            self._arrived.set()
        return len(revived)

    async def purge_dead(self) -> int:
        purged = len(self.dead)
        self.dead.clear()
        return purged

    def _bury(self, stored: _Stored, reason: str) -> None:
        del self._messages[stored.id]
        stored.dead_reason = reason
        stored.receipt = None
        self.dead.append(stored)


class MemoryObjectStore:
    """An ``ObjectStore`` (and ``ObjectLister``) in a dict; ``put`` stands in for an upload.

    The ETag is the SHA-256; an object's last-modified time is the clock's time of its ``put``.
    """

    def __init__(self, clock: Clock | None = None) -> None:
        self._clock = clock or SystemClock()
        self._objects: dict[str, bytes] = {}
        self._modified: dict[str, datetime] = {}

    def put(self, key: str, data: bytes) -> ObjectInfo:
        """Store ``data`` under ``key`` (replacing any object there) and describe it."""
        self._objects[key] = bytes(data)
        self._modified[key] = self._clock.now()
        return ObjectInfo(key, len(data), hashlib.sha256(data).hexdigest())

    async def list_objects(self, prefix: str | None = None) -> AsyncIterator[ListedObject]:
        snapshot = [
            ListedObject(key, len(data), self._modified[key])
            for key, data in sorted(self._objects.items())
            if prefix is None or key.startswith(prefix)
        ]
        for listed in snapshot:  # the store may change while the caller iterates
            yield listed

    async def head(self, key: str) -> ObjectInfo | None:
        data = self._objects.get(key)
        if data is None:
            return None
        return ObjectInfo(key, len(data), hashlib.sha256(data).hexdigest())

    async def read(self, key: str, chunk_size: int = 1 << 20) -> AsyncIterator[bytes]:
        data = self._objects.get(key)
        if data is None:
            raise FileNotFoundError(key)
        for start in range(0, len(data), chunk_size):
            yield data[start : start + chunk_size]

    async def delete(self, key: str) -> None:
        self._objects.pop(key, None)
        self._modified.pop(key, None)


@dataclass(frozen=True)
class SignedUpload:
    """One upload :class:`MemorySigner` was asked to sign."""

    key: str
    spec: UploadSpec
    expires_in: timedelta


@dataclass(frozen=True)
class SignedDownload:
    """One download :class:`MemorySigner` was asked to sign."""

    key: str
    filename: str
    content_type: str
    expires_in: timedelta


class MemorySigner:
    """An ``UploadSigner`` and ``DownloadSigner`` making deterministic, unverified URLs.

    ``memory://put/<key>?expires=<unix seconds>`` for uploads (with the bound
    ``Content-Type`` and ``Content-Length`` headers) and ``memory://get/<key>?expires=...``
    for downloads; expiry is the clock's now plus ``expires_in``. Every request signed is
    recorded, in order, in ``uploads`` and ``downloads``.
    """

    def __init__(self, clock: Clock | None = None) -> None:
        self._clock = clock or SystemClock()
        self.uploads: list[SignedUpload] = []
        self.downloads: list[SignedDownload] = []

    def sign_upload(self, key: str, spec: UploadSpec, expires_in: timedelta) -> SignedRequest:
        self.uploads.append(SignedUpload(key, spec, expires_in))
        expires_at = self._clock.now() + expires_in
        headers = {"Content-Type": spec.content_type, "Content-Length": str(spec.size)}
        return SignedRequest("PUT", _memory_url("put", key, expires_at), headers, expires_at)

    def sign_download(
        self, key: str, filename: str, content_type: str, expires_in: timedelta
    ) -> SignedRequest:
        self.downloads.append(SignedDownload(key, filename, content_type, expires_in))
        expires_at = self._clock.now() + expires_in
        return SignedRequest("GET", _memory_url("get", key, expires_at), {}, expires_at)


def _memory_url(action: str, key: str, expires_at: datetime) -> str:
    return f"memory://{action}/{quote(key)}?expires={int(expires_at.timestamp())}"


DEFAULT_INSPECTION = Inspection(
    reason=None,
    content_type="image/jpeg",
    image=ImageInfo(format="JPEG", width=64, height=48, orientation=1, mode="RGB"),
)
"""What :class:`ScriptedInspector` answers unless told otherwise: a valid 64x48 JPEG."""


class ScriptedInspector:
    """An ``ImageInspector`` that answers from a script instead of decoding anything.

    ``script(path, inspection)`` fixes the answer for one path; other paths get
    ``default``. While ``failure`` is set, every call raises it (a pool that is down).
    Every path asked about is recorded, in order, in ``inspected``.
    """

    def __init__(self, default: Inspection = DEFAULT_INSPECTION) -> None:
        self.default = default
        self.failure: BackendUnavailable | None = None
        self.inspected: list[Path] = []
        self._answers: dict[Path, Inspection] = {}

    def script(self, path: Path, inspection: Inspection) -> None:
        """Answer ``inspection`` for ``path`` from now on."""
        self._answers[path] = inspection

    async def inspect(self, path: Path) -> Inspection:
        self.inspected.append(path)
        if self.failure is not None:
            raise self.failure
        return self._answers.get(path, self.default)


@dataclass(frozen=True)
class RecordedVerification:
    """One ``Metrics.verified`` call."""

    outcome: str
    reason: str | None
    seconds: float


@dataclass(frozen=True)
class RecordedBatch:
    """One ``Metrics.batch`` call."""

    size: int
    succeeded: int
    retried: int
    dead: int


class RecordingMetrics:
    """A ``Metrics`` that remembers every report, for assertions in unit tests."""

    def __init__(self) -> None:
        self.registrations = 0
        self.uploads: list[int] = []
        """The size of each upload, in order."""
        self.verifications: list[RecordedVerification] = []
        self.times_to_ready: list[float] = []
        self.batches: list[RecordedBatch] = []
        self.retried_messages = 0
        self.dead_lettered_messages = 0
        self.reconciled_actions: dict[str, int] = {}
        """Repairs reported by reconciler runs, summed by action."""

    def registered(self, count: int) -> None:
        self.registrations += count

    def upload_bytes(self, size: int) -> None:
        self.uploads.append(size)

    def verified(self, outcome: str, reason: str | None, seconds: float) -> None:
        self.verifications.append(RecordedVerification(outcome, reason, seconds))

    def time_to_ready(self, seconds: float) -> None:
        self.times_to_ready.append(seconds)

    def batch(self, size: int, succeeded: int, retried: int, dead: int) -> None:
        self.batches.append(RecordedBatch(size, succeeded, retried, dead))

    def retried(self, count: int) -> None:
        self.retried_messages += count

    def dead_lettered(self, count: int) -> None:
        self.dead_lettered_messages += count

    def reconciled(self, action: str, count: int) -> None:
        self.reconciled_actions[action] = self.reconciled_actions.get(action, 0) + count
