"""An in-memory fake of the ``MultipartUploads`` port, over a :class:`MemoryObjectStore`.

It follows the S3 contract the multipart contract suite checks (same answers, same errors),
but keeps everything in this process. ``put_part`` stands in for a client's signed PUT.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import quote

from filegate.adapters.memory.store import MemoryObjectStore
from filegate.domain.clock import SystemClock
from filegate.domain.errors import ErrorCode, FilegateError
from filegate.domain.models import MultipartUpload, ObjectInfo, PartUrl, UploadedPart, UploadSpec
from filegate.domain.ports import Clock, PartReference

MIN_PART_BYTES = 5 * 2**20
MAX_PART_NUMBER = 10_000
MAX_PART_BYTES = 5 * 2**30


@dataclass
class _Upload:
    key: str
    initiated: datetime
    parts: dict[int, bytes] = field(default_factory=dict)


class MemoryMultipartUploads:
    """``MultipartUploads`` whose completed objects land in ``store``.

    Parts other than the last must have ``min_part_bytes`` (S3: 5 MiB). Part ETags are the
    SHA-256 hex of the part's bytes.
    """

    def __init__(
        self,
        store: MemoryObjectStore,
        clock: Clock | None = None,
        min_part_bytes: int = MIN_PART_BYTES,
    ) -> None:
        self._store = store
        self._clock = clock or SystemClock()
        self._min_part_bytes = min_part_bytes
        self._uploads: dict[str, _Upload] = {}

    async def start_multipart(self, key: str, spec: UploadSpec) -> MultipartUpload:
        upload_id = uuid.uuid4().hex
        self._uploads[upload_id] = _Upload(key, self._clock.now())
        return MultipartUpload(key, upload_id)

    def sign_parts(
        self,
        upload: MultipartUpload,
        part_numbers: Sequence[int],
        part_size: int,
        expires_in: timedelta,
    ) -> list[PartUrl]:
        """``memory://part/<key>?uploadId=&partNumber=`` URLs (nothing serves them)."""
        if not 1 <= part_size <= MAX_PART_BYTES:
            raise ValueError(f"part_size must be 1..{MAX_PART_BYTES} bytes")
        expires_at = self._clock.now() + expires_in
        urls = []
        for number in part_numbers:
            if not 1 <= number <= MAX_PART_NUMBER:
                raise ValueError(f"part numbers are 1..{MAX_PART_NUMBER}, not {number}")
            url = (
                f"memory://part/{quote(upload.key)}?uploadId={upload.upload_id}&partNumber={number}"
            )
            urls.append(PartUrl(number, url, {"Content-Length": str(part_size)}, expires_at))
        return urls

    def put_part(self, upload: MultipartUpload, number: int, data: bytes) -> str:
        """Store part ``number`` (replacing an earlier one); return its ETag."""
        self._get(upload).parts[number] = bytes(data)
        return _etag(data)

    async def list_parts(self, upload: MultipartUpload) -> list[UploadedPart]:
        parts = self._get(upload).parts
        return [UploadedPart(n, _etag(parts[n]), len(parts[n])) for n in sorted(parts)]

    async def complete_multipart(
        self, upload: MultipartUpload, parts: Sequence[PartReference]
    ) -> ObjectInfo:
        stored = self._get(upload)
        chosen = sorted(parts, key=lambda part: part.number)
        if not chosen or not self._assemblable(stored, chosen):
            raise FilegateError(
                ErrorCode.UPLOAD_INCOMPLETE, "The parts do not make a complete upload."
            )
        if await self._store.head(upload.key) is not None:
            raise FilegateError(ErrorCode.ALREADY_UPLOADED, "The object is already uploaded.")
        data = b"".join(stored.parts[part.number] for part in chosen)
        del self._uploads[upload.upload_id]
        return self._store.put_bytes(upload.key, data)

    async def abort_multipart(self, upload: MultipartUpload) -> None:
        known = self._uploads.get(upload.upload_id)
        if known is not None and known.key == upload.key:
            del self._uploads[upload.upload_id]

    async def stale_multipart_uploads(self, older_than: datetime) -> list[MultipartUpload]:
        return [
            MultipartUpload(stored.key, upload_id)
            for upload_id, stored in self._uploads.items()
            if stored.initiated < older_than
        ]

    def _get(self, upload: MultipartUpload) -> _Upload:
        stored = self._uploads.get(upload.upload_id)
        if stored is None or stored.key != upload.key:
            raise FilegateError(ErrorCode.NOT_FOUND, "No such multipart upload.")
        return stored

    def _assemblable(self, stored: _Upload, chosen: Sequence[PartReference]) -> bool:
        numbers = [part.number for part in chosen]
        if len(set(numbers)) != len(numbers):
            return False
        for index, part in enumerate(chosen):
            data = stored.parts.get(part.number)
            if data is None or _etag(data) != part.etag.strip('"'):
                return False
            if index < len(chosen) - 1 and len(data) < self._min_part_bytes:
                return False
        return True


def _etag(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
