"""A ``FileRepository`` fake (with the lifecycle queries) over a dict."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime

from filegate.domain.clock import SystemClock
from filegate.domain.cursor import decode_cursor, encode_cursor
from filegate.domain.models import (
    FileRecord,
    Page,
    PrintSize,
    StateChange,
    Transition,
)
from filegate.domain.ports import Clock
from filegate.domain.quotas import QuotaExceeded, QuotaLimits, Usage, admission, usage_of
from filegate.domain.retention import Retention, is_due
from filegate.domain.similarity import SimilarFile, hamming_distance, nearest_first
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
        *,
        dedupe: bool = False,
    ) -> FileRecord:
        if dedupe and (duplicate := await self._duplicate_of(record)) is not None:
            return duplicate
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
        self,
        records: Sequence[FileRecord],
        limits: QuotaLimits | None = None,
        *,
        dedupe: bool = False,
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
                outcomes.append(await self.add(record, None, limits, dedupe=dedupe))
            except QuotaExceeded as refusal:
                outcomes.append(refusal)
        return outcomes

    async def _duplicate_of(self, record: FileRecord) -> FileRecord | None:
        sha256 = record.declared_sha256
        return None if sha256 is None else self._ready_with_sha256(record.owner, sha256)

    async def get(self, file_id: str) -> FileRecord | None:
        return self._files.get(file_id)

    async def get_owned(self, owner: str, file_id: str) -> FileRecord | None:
        record = self._files.get(file_id)
        return record if record is not None and record.owner == owner else None

    async def get_by_key(self, object_key: str) -> FileRecord | None:
        return next((f for f in self._files.values() if f.object_key == object_key), None)

    async def get_many_by_key(self, object_keys: Sequence[str]) -> dict[str, FileRecord]:
        wanted = set(object_keys)
        return {f.object_key: f for f in self._files.values() if f.object_key in wanted}

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
            placeholder=change.placeholder or current.placeholder,
            perceptual_hash=(
                current.perceptual_hash
                if change.perceptual_hash is None
                else change.perceptual_hash
            ),
            renditions=change.renditions or current.renditions,
            last_sequencer=change.sequencer or current.last_sequencer,
            updated_at=now,
            version=current.version + 1,
        )
        self._files[file_id] = updated
        self._history.append(
            Transition(file_id, expected, change.target, change.reason, change.actor.value, now)
        )
        return updated

    async def transition_many(
        self, changes: Sequence[tuple[str, FileState, StateChange]]
    ) -> list[FileRecord | None]:
        for _, expected, change in changes:
            if not can_transition(expected, change.target):
                raise ValueError(f"transition {expected} -> {change.target} is not allowed")
        return [await self.transition(*change) for change in changes]

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

    async def set_print_size(self, file_id: str, size: PrintSize | None) -> FileRecord | None:
        current = self._files.get(file_id)
        if current is None or current.state is FileState.DELETED:
            return None
        updated = dataclasses.replace(
            current, print_size=size, updated_at=self._clock.now(), version=current.version + 1
        )
        self._files[file_id] = updated
        return updated

    async def similar_ready(
        self,
        owner: str,
        perceptual_hash: int,
        max_distance: int,
        limit: int,
        exclude_id: str | None = None,
    ) -> list[SimilarFile]:
        candidates = [
            SimilarFile(f, hamming_distance(f.perceptual_hash, perceptual_hash))
            for f in self._files.values()
            if f.owner == owner
            and f.state is FileState.READY
            and f.perceptual_hash is not None
            and f.id != exclude_id
        ]
        near = [c for c in candidates if c.distance <= max_distance]
        return nearest_first(near)[:limit]

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

    def _ready_with_sha256(self, owner: str, sha256: str) -> FileRecord | None:
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
