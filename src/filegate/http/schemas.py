"""Request and response bodies of API v1 (snake_case JSON, RFC 3339 UTC times)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from filegate.domain.models import FileRecord, ImageInfo, PartUrl, SignedRequest, UploadedPart
from filegate.services.multipart import MultipartInstructions


class RegisterFile(BaseModel):
    """A client's declaration of a file it is about to upload."""

    model_config = ConfigDict(extra="forbid")

    filename: str = Field(min_length=1, max_length=1024)
    content_type: str = Field(min_length=1, max_length=100)
    size: StrictInt = Field(ge=0, description="Exact size in bytes; the upload URL is bound to it.")
    sha256: str | None = Field(default=None, description="Hex SHA-256 of the bytes, if known.")
    metadata: dict[str, Any] = Field(default_factory=dict)


class RegisterBatch(BaseModel):
    """Up to the configured maximum of declarations; each item is validated on its own."""

    model_config = ConfigDict(extra="forbid")

    files: list[dict[str, Any]] = Field(min_length=1)


class UploadInstructions(BaseModel):
    """How to upload the bytes: perform exactly this request before ``expires_at``.

    ``method`` ``MULTIPART`` means: upload in ``part_count`` parts of ``part_size`` bytes
    (the last one shorter), asking ``url`` (``POST``) for the parts' signed URLs.
    """

    method: str
    url: str
    headers: dict[str, str]
    expires_at: datetime
    part_size: int | None = None
    part_count: int | None = None

    @classmethod
    def multipart(cls, file_id: str, instructions: MultipartInstructions) -> UploadInstructions:
        return cls(
            method="MULTIPART",
            url=f"/v1/files/{file_id}/parts",
            headers={},
            expires_at=instructions.expires_at,
            part_size=instructions.plan.size,
            part_count=instructions.plan.count,
        )

    @classmethod
    def of(cls, request: SignedRequest) -> UploadInstructions:
        return cls(
            method=request.method,
            url=request.url,
            headers=dict(request.headers),
            expires_at=request.expires_at,
        )


class ImageOut(BaseModel):
    width: int
    height: int
    format: str
    orientation: int
    mode: str
    frames: int

    @classmethod
    def of(cls, image: ImageInfo) -> ImageOut:
        return cls(
            width=image.width,
            height=image.height,
            format=image.format,
            orientation=image.orientation,
            mode=image.mode,
            frames=image.frames,
        )


class FileOut(BaseModel):
    """A file as clients see it."""

    id: str
    state: str
    reason: str | None
    filename: str
    content_type: str
    size: int
    sha256: str | None
    image: ImageOut | None
    metadata: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    upload_expires_at: datetime
    retain_until: datetime | None = None
    """Retention deadline: the file is deleted after it, unless pinned."""
    pinned: bool = False
    """Kept indefinitely."""
    deduplicated: bool = False
    """A registration answered with the owner's ready file with the same SHA-256."""
    upload: UploadInstructions | None = None

    @classmethod
    def of(
        cls,
        record: FileRecord,
        upload: SignedRequest | None = None,
        multipart: MultipartInstructions | None = None,
        *,
        deduplicated: bool = False,
    ) -> FileOut:
        return cls(
            id=record.id,
            state=record.state.value,
            reason=record.reason,
            filename=record.filename,
            content_type=record.detected_type or record.declared_type,
            size=record.declared_size,
            sha256=record.sha256 or record.declared_sha256,
            image=ImageOut.of(record.image) if record.image else None,
            metadata=dict(record.metadata),
            created_at=record.created_at,
            updated_at=record.updated_at,
            upload_expires_at=record.upload_expires_at,
            retain_until=record.retain_until,
            pinned=record.pinned,
            deduplicated=deduplicated,
            upload=_instructions(record, upload, multipart),
        )


class UploadOut(BaseModel):
    upload: UploadInstructions


class FileList(BaseModel):
    files: list[FileOut]
    next_cursor: str | None


class BatchItemError(BaseModel):
    error: dict[str, Any]


class BatchOut(BaseModel):
    files: list[FileOut | BatchItemError]


def _instructions(
    record: FileRecord, upload: SignedRequest | None, multipart: MultipartInstructions | None
) -> UploadInstructions | None:
    if multipart is not None:
        return UploadInstructions.multipart(record.id, multipart)
    return UploadInstructions.of(upload) if upload else None


class PartNumbers(BaseModel):
    """Which parts to sign URLs for (1-based)."""

    model_config = ConfigDict(extra="forbid")

    part_numbers: list[StrictInt] = Field(min_length=1, max_length=10_000)


class PartUrlOut(BaseModel):
    number: int
    url: str
    headers: dict[str, str]
    expires_at: datetime

    @classmethod
    def of(cls, part: PartUrl) -> PartUrlOut:
        return cls(
            number=part.number, url=part.url, headers=dict(part.headers), expires_at=part.expires_at
        )


class PartUrls(BaseModel):
    parts: list[PartUrlOut]


class UploadedPartOut(BaseModel):
    number: int
    etag: str
    size: int

    @classmethod
    def of(cls, part: UploadedPart) -> UploadedPartOut:
        return cls(number=part.number, etag=part.etag, size=part.size)


class UploadedParts(BaseModel):
    parts: list[UploadedPartOut]


class PartIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    number: StrictInt = Field(ge=1, le=10_000)
    etag: str = Field(min_length=1, max_length=200)


class CompleteParts(BaseModel):
    """The parts that make the object, as the store answered their uploads."""

    model_config = ConfigDict(extra="forbid")

    parts: list[PartIn] = Field(min_length=1, max_length=10_000)
