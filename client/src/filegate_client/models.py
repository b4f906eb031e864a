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
    """What verification learned from the decoded bytes.

    ``width`` and ``height`` are as stored, ``display_width`` and ``display_height`` after
    the EXIF ``orientation`` (an older server sends no display size: it is derived then).
    Facts an older server does not send are ``None`` or ``False``.
    """

    width: int
    height: int
    format: str
    orientation: int
    mode: str | None = None
    frames: int = 1
    display_width: int | None = None
    display_height: int | None = None
    animated: bool = False
    bit_depth: int | None = None
    cmyk: bool = False
    icc_embedded: bool = False
    icc_description: str | None = None
    dpi: tuple[float, float] | None = None
    captured_at: str | None = None
    """EXIF ``DateTimeOriginal`` as ISO 8601, with its offset when the file records one."""
    camera_make: str | None = None
    camera_model: str | None = None
    has_location: bool = False
    """GPS tags are present in the original (filegate never copies the coordinates)."""

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ImageInfo:
        width, height = int(data["width"]), int(data["height"])
        orientation = int(data["orientation"])
        turned = orientation in _QUARTER_TURNS
        dpi = data.get("dpi")
        return cls(
            width=width,
            height=height,
            format=str(data["format"]),
            orientation=orientation,
            mode=data.get("mode"),
            frames=int(data.get("frames", 1)),
            display_width=int(data.get("display_width", height if turned else width)),
            display_height=int(data.get("display_height", width if turned else height)),
            animated=bool(data.get("animated", False)),
            bit_depth=data.get("bit_depth"),
            cmyk=bool(data.get("cmyk", False)),
            icc_embedded=bool(data.get("icc_embedded", False)),
            icc_description=data.get("icc_description"),
            dpi=(float(dpi[0]), float(dpi[1])) if dpi else None,
            captured_at=data.get("captured_at"),
            camera_make=data.get("camera_make"),
            camera_model=data.get("camera_model"),
            has_location=bool(data.get("has_location", False)),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "width": self.width,
            "height": self.height,
            "display_width": self.display_width,
            "display_height": self.display_height,
            "format": self.format,
            "orientation": self.orientation,
            "mode": self.mode,
            "frames": self.frames,
            "animated": self.animated,
            "bit_depth": self.bit_depth,
            "cmyk": self.cmyk,
            "icc_embedded": self.icc_embedded,
            "icc_description": self.icc_description,
            "dpi": list(self.dpi) if self.dpi else None,
            "captured_at": self.captured_at,
            "camera_make": self.camera_make,
            "camera_model": self.camera_model,
            "has_location": self.has_location,
        }


_QUARTER_TURNS = frozenset({5, 6, 7, 8})
"""EXIF orientations that swap the displayed width and height."""


@dataclass(frozen=True)
class Rendition:
    """A derived image of a ready file (oriented, sRGB, without metadata)."""

    width: int
    height: int
    content_type: str
    size: int

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Rendition:
        return cls(
            int(data["width"]), int(data["height"]), str(data["content_type"]), int(data["size"])
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "width": self.width,
            "height": self.height,
            "content_type": self.content_type,
            "size": self.size,
        }


@dataclass(frozen=True)
class PrintSize:
    """A target print size in millimetres, either way round."""

    width_mm: float
    height_mm: float

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PrintSize:
        return cls(float(data["width_mm"]), float(data["height_mm"]))

    def to_json(self) -> dict[str, Any]:
        return {"width_mm": self.width_mm, "height_mm": self.height_mm}


class PrintVerdict(StrEnum):
    """How the effective dpi compares with the server's thresholds (default 300 and 150)."""

    GOOD = "good"
    LOW = "low"
    TOO_LOW = "too_low"


@dataclass(frozen=True)
class PrintFitness:
    """How well the pixels cover the print (whole dpi, long edge on long edge, cropped)."""

    effective_dpi: int
    verdict: PrintVerdict

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PrintFitness:
        return cls(int(data["effective_dpi"]), PrintVerdict(data["verdict"]))

    def to_json(self) -> dict[str, Any]:
        return {"effective_dpi": self.effective_dpi, "verdict": self.verdict.value}


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
    ``upload`` is present only in answers that hand out upload instructions. ``distance``
    only in a listing of similar files. Fields an older server does not send are empty.
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
    placeholder: str | None = None
    """BlurHash of the picture, to paint its colours before any bytes arrive."""
    renditions: Mapping[str, Rendition] = field(default_factory=dict)
    """By name (``thumb``, ``preview``), those that exist."""
    print_size: PrintSize | None = None
    """The target print size (``print`` in the API)."""
    print_fitness: PrintFitness | None = None
    distance: int | None = None

    @property
    def is_final(self) -> bool:
        """Whether verification is over (ready, rejected, expired or deleted)."""
        return self.state.is_final

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> File:
        image, upload, retain = data.get("image"), data.get("upload"), data.get("retain_until")
        printed, fitness = data.get("print"), data.get("print_fitness")
        renditions = data.get("renditions") or {}
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
            placeholder=data.get("placeholder"),
            renditions={str(k): Rendition.from_json(v) for k, v in renditions.items()},
            print_size=PrintSize.from_json(printed) if printed else None,
            print_fitness=PrintFitness.from_json(fitness) if fitness else None,
            distance=data.get("distance"),
        )

    def to_json(self) -> dict[str, Any]:
        """The file as JSON-ready data, in the API's shape (without upload instructions)."""
        return {
            "id": self.id,
            "state": self.state.value,
            "reason": self.reason,
            "filename": self.filename,
            "content_type": self.content_type,
            "size": self.size,
            "sha256": self.sha256,
            "image": None if self.image is None else self.image.to_json(),
            "placeholder": self.placeholder,
            "renditions": {name: r.to_json() for name, r in self.renditions.items()},
            "print": None if self.print_size is None else self.print_size.to_json(),
            "print_fitness": None if self.print_fitness is None else self.print_fitness.to_json(),
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
    print_size: PrintSize | None = None
    """A target print size: the file then reports its ``print_fitness``."""

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
        if self.print_size is not None:
            body["print"] = self.print_size.to_json()
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
