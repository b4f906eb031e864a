"""Typed results of the filegate API, parsed from its JSON (snake_case, RFC 3339 UTC times).

Parsing ignores fields it does not know, so a newer server does not break an older client.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class FileState(StrEnum):
    """Where a file is in its life (the API's lower-case state strings)."""

    REGISTERED = "registered"
    UPLOADED = "uploaded"
    READY = "ready"
    REJECTED = "rejected"
    EXPIRED = "expired"
    DELETED = "deleted"

    @property
    def is_final(self) -> bool:
        """Whether verification is over: only deletion can follow."""
        return self not in (FileState.REGISTERED, FileState.UPLOADED)


@dataclass(frozen=True)
class ImageInfo:
    """What verification learned from the decoded bytes."""

    width: int
    height: int
    format: str
    orientation: int
    mode: str | None = None
    frames: int = 1

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ImageInfo:
        return cls(
            width=int(data["width"]),
            height=int(data["height"]),
            format=str(data["format"]),
            orientation=int(data["orientation"]),
            mode=data.get("mode"),
            frames=int(data.get("frames", 1)),
        )


@dataclass(frozen=True)
class UploadInstructions:
    """How to upload a file's bytes: perform exactly this request before ``expires_at``.

    ``method == "MULTIPART"`` means: upload ``part_count`` parts of ``part_size`` bytes (the
    last one shorter) through part URLs asked from ``url`` (an API path).
    """

    method: str
    url: str
    headers: Mapping[str, str]
    expires_at: datetime
    part_size: int | None = None
    part_count: int | None = None

    @property
    def is_multipart(self) -> bool:
        return self.method.upper() == "MULTIPART"

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> UploadInstructions:
        return cls(
            method=str(data["method"]),
            url=str(data["url"]),
            headers={str(k): str(v) for k, v in (data.get("headers") or {}).items()},
            expires_at=parse_time(data["expires_at"]),
            part_size=data.get("part_size"),
            part_count=data.get("part_count"),
        )


@dataclass(frozen=True)
class File:
    """A file as the API shows it to its owner.

    ``sha256`` is the verified checksum once the file is ready (the declared one before).
    ``upload`` is present only in answers that hand out upload instructions.
    """

    id: str
    state: FileState
    reason: str | None
    filename: str
    content_type: str
    size: int
    sha256: str | None
    image: ImageInfo | None
    metadata: Mapping[str, Any]
    created_at: datetime
    updated_at: datetime
    upload_expires_at: datetime
    retain_until: datetime | None = None
    pinned: bool = False
    deduplicated: bool = False
    upload: UploadInstructions | None = None

    @property
    def is_final(self) -> bool:
        """Whether verification is over (ready, rejected, expired or deleted)."""
        return self.state.is_final

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> File:
        image, upload, retain = data.get("image"), data.get("upload"), data.get("retain_until")
        return cls(
            id=str(data["id"]),
            state=FileState(data["state"]),
            reason=data.get("reason"),
            filename=str(data["filename"]),
            content_type=str(data["content_type"]),
            size=int(data["size"]),
            sha256=data.get("sha256"),
            image=ImageInfo.from_json(image) if image else None,
            metadata=dict(data.get("metadata") or {}),
            created_at=parse_time(data["created_at"]),
            updated_at=parse_time(data["updated_at"]),
            upload_expires_at=parse_time(data["upload_expires_at"]),
            retain_until=parse_time(retain) if retain else None,
            pinned=bool(data.get("pinned", False)),
            deduplicated=bool(data.get("deduplicated", False)),
            upload=UploadInstructions.from_json(upload) if upload else None,
        )

    def to_json(self) -> dict[str, Any]:
        """The file as JSON-ready data, in the API's shape (without upload instructions)."""
        image = self.image
        return {
            "id": self.id,
            "state": self.state.value,
            "reason": self.reason,
            "filename": self.filename,
            "content_type": self.content_type,
            "size": self.size,
            "sha256": self.sha256,
            "image": None
            if image is None
            else {
                "width": image.width,
                "height": image.height,
                "format": image.format,
                "orientation": image.orientation,
                "mode": image.mode,
                "frames": image.frames,
            },
            "metadata": dict(self.metadata),
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "upload_expires_at": self.upload_expires_at.isoformat(),
            "retain_until": self.retain_until.isoformat() if self.retain_until else None,
            "pinned": self.pinned,
        }


@dataclass(frozen=True)
class Page:
    """One page of a listing; ``next_cursor`` continues it (``None`` on the last page)."""

    files: list[File]
    next_cursor: str | None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Page:
        return cls([File.from_json(f) for f in data["files"]], data.get("next_cursor"))


@dataclass(frozen=True)
class Declaration:
    """What a registration declares about a file before its bytes are uploaded."""

    filename: str
    content_type: str
    size: int
    sha256: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "filename": self.filename,
            "content_type": self.content_type,
            "size": self.size,
        }
        if self.sha256 is not None:
            body["sha256"] = self.sha256
        if self.metadata:
            body["metadata"] = dict(self.metadata)
        return body


@dataclass(frozen=True)
class PartUrl:
    """A signed upload of one part (1-based ``number``): PUT exactly ``headers`` to ``url``."""

    number: int
    url: str
    headers: Mapping[str, str]

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PartUrl:
        headers = {str(k): str(v) for k, v in (data.get("headers") or {}).items()}
        return cls(int(data["number"]), str(data["url"]), headers)


@dataclass(frozen=True)
class StoredPart:
    """A part the store already holds for a multipart upload."""

    number: int
    etag: str
    size: int

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> StoredPart:
        return cls(int(data["number"]), str(data["etag"]), int(data["size"]))


def parse_time(value: str) -> datetime:
    """An RFC 3339 time as an aware ``datetime`` (``Z`` accepted)."""
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError(f"time without a timezone: {value!r}")
    return parsed
