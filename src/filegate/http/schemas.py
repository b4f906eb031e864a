"""Request and response bodies of API v1 (snake_case JSON, RFC 3339 UTC times)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from filegate.domain.models import FileRecord, ImageInfo, SignedRequest


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
    """How to upload the bytes: perform exactly this request before ``expires_at``."""

    method: str
    url: str
    headers: dict[str, str]
    expires_at: datetime

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
    upload: UploadInstructions | None = None

    @classmethod
    def of(cls, record: FileRecord, upload: SignedRequest | None = None) -> FileOut:
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
            upload=UploadInstructions.of(upload) if upload else None,
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
