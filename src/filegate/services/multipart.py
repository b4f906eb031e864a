"""Large files in parts: signed part URLs on demand, resumable, completed by the client.

A file whose declared size reaches the store's threshold is uploaded in parts. Its
multipart upload starts with the first request for part URLs; a client that lost its
URLs asks again, and lists the parts already stored to resume.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from filegate.domain.errors import ErrorCode, FilegateError, not_found
from filegate.domain.models import (
    FileRecord,
    MultipartUpload,
    PartUrl,
    UploadedPart,
)
from filegate.domain.ports import Clock, FileRepository, MultipartUploads, PartReference
from filegate.domain.states import FileState
from filegate.services.uploads import UploadRecorder

MIN_PART_SIZE = 8 * 1024 * 1024
_ALREADY_SIGNALLED = frozenset({FileState.UPLOADED, FileState.READY, FileState.REJECTED})
MAX_PARTS = 10_000
_MIB = 1024 * 1024


@dataclass(frozen=True)
class PartPlan:
    """How a file is cut: ``count`` parts of ``size`` bytes, the last one possibly shorter."""

    size: int
    count: int
    last_size: int

    @classmethod
    def for_size(cls, total: int, min_part: int = MIN_PART_SIZE) -> PartPlan:
        """Parts of at least ``min_part`` bytes (whole MiB), never more than 10,000."""
        wanted = max(min_part, math.ceil(total / MAX_PARTS))
        size = math.ceil(wanted / _MIB) * _MIB
        count = max(1, math.ceil(total / size))
        return cls(size, count, total - size * (count - 1))


@dataclass(frozen=True)
class MultipartInstructions:
    """What a client needs to upload a file in parts."""

    plan: PartPlan
    expires_at: datetime


class MultipartService:
    """Part URLs, part listings and completion for the owner's large files."""

    def __init__(
        self,
        repository: FileRepository,
        uploads: MultipartUploads,
        recorder: UploadRecorder,
        clock: Clock,
        url_ttl: timedelta,
        threshold: int,
    ) -> None:
        self._repository = repository
        self._uploads = uploads
        self._recorder = recorder
        self._clock = clock
        self._url_ttl = url_ttl
        self.threshold = threshold

    def instructions(self, record: FileRecord) -> MultipartInstructions | None:
        """How to upload ``record`` in parts, or ``None`` if it is not a multipart file."""
        if record.declared_size < self.threshold or record.state is not FileState.REGISTERED:
            return None
        return MultipartInstructions(PartPlan.for_size(record.declared_size), self._expiry(record))

    async def part_urls(self, owner: str, file_id: str, numbers: Sequence[int]) -> list[PartUrl]:
        """Fresh signed URLs for these part numbers (starting the upload if need be)."""
        record = await self._waiting(owner, file_id)
        plan = PartPlan.for_size(record.declared_size)
        if not numbers or any(not 1 <= n <= plan.count for n in numbers):
            raise FilegateError(
                ErrorCode.VALIDATION_ERROR,
                f"Part numbers run from 1 to {plan.count} for this file.",
                {"part_count": plan.count},
            )
        upload = await self._upload_of(record)
        ttl = self._expiry(record) - self._clock.now()
        full = sorted({n for n in numbers if n < plan.count})
        urls = self._uploads.sign_parts(upload, full, plan.size, ttl) if full else []
        if plan.count in numbers:
            urls += self._uploads.sign_parts(upload, [plan.count], plan.last_size, ttl)
        return urls

    async def uploaded_parts(self, owner: str, file_id: str) -> list[UploadedPart]:
        """The parts stored so far (empty before the first part URL was asked for)."""
        record = await self._multipart_file(owner, file_id)
        if record.multipart_upload_id is None:
            return []
        return await self._uploads.list_parts(_upload(record))

    async def complete(
        self, owner: str, file_id: str, parts: Sequence[PartReference]
    ) -> FileRecord:
        """Assemble the parts into the object and enqueue its verification.

        Idempotent: a file already uploaded, ready or rejected is returned unchanged.
        """
        record = await self._multipart_file(owner, file_id)
        if record.state in _ALREADY_SIGNALLED:
            return record
        record = await self._waiting(owner, file_id)
        if record.multipart_upload_id is None:
            raise FilegateError(ErrorCode.UPLOAD_INCOMPLETE, "No part has been uploaded yet.")
        info = await self._uploads.complete_multipart(_upload(record), parts)
        return await self._recorder.recover(record, info, via="multipart")

    async def _upload_of(self, record: FileRecord) -> MultipartUpload:
        if record.multipart_upload_id is not None:
            return _upload(record)
        started = await self._uploads.start_multipart(record.object_key, record.upload_spec)
        updated = await self._repository.set_multipart_upload(record.id, started.upload_id)
        if updated is not None:
            return started
        await self._uploads.abort_multipart(started)  # another request won the race
        current = await self._repository.get(record.id)
        if current is None or current.multipart_upload_id is None:
            raise _not_waiting()
        return _upload(current)

    async def _multipart_file(self, owner: str, file_id: str) -> FileRecord:
        record = await self._repository.get_owned(owner, file_id)
        if record is None:
            raise not_found()
        if record.declared_size < self.threshold:
            raise FilegateError(
                ErrorCode.INVALID_STATE,
                "This file is uploaded in one request; use its upload URL.",
            )
        return record

    async def _waiting(self, owner: str, file_id: str) -> FileRecord:
        record = await self._multipart_file(owner, file_id)
        if (
            record.state is not FileState.REGISTERED
            or self._clock.now() >= record.upload_expires_at
        ):
            raise _not_waiting()
        return record

    def _expiry(self, record: FileRecord) -> datetime:
        return min(self._clock.now() + self._url_ttl, record.upload_expires_at)


def _upload(record: FileRecord) -> MultipartUpload:
    assert record.multipart_upload_id is not None
    return MultipartUpload(record.object_key, record.multipart_upload_id)


def _not_waiting() -> FilegateError:
    return FilegateError(ErrorCode.INVALID_STATE, "The file is not waiting for an upload.")
