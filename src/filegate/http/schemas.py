"""Request and response bodies of API v1 (snake_case JSON, RFC 3339 UTC times)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from filegate.domain.models import (
    FileRecord,
    ImageInfo,
    PartUrl,
    PrintSize,
    Rendition,
    SignedRequest,
    UploadedPart,
)
from filegate.domain.printing import (
    MAX_PRINT_MM,
    PrintFitness,
    PrintThresholds,
    PrintVerdict,
    fitness_of,
)
from filegate.domain.similarity import SimilarFile
from filegate.services.multipart import MultipartInstructions


class PrintIn(BaseModel):
    """A target print size in millimetres, either way round (long edge meets long edge)."""

    model_config = ConfigDict(extra="forbid")

    width_mm: float = Field(gt=0, le=MAX_PRINT_MM, strict=True, allow_inf_nan=False)
    height_mm: float = Field(gt=0, le=MAX_PRINT_MM, strict=True, allow_inf_nan=False)

    def size(self) -> PrintSize:
        return PrintSize(self.width_mm, self.height_mm)


class RegisterFile(BaseModel):
    """A client's declaration of a file it is about to upload."""

    model_config = ConfigDict(extra="forbid")

    filename: str = Field(min_length=1, max_length=1024)
    content_type: str = Field(min_length=1, max_length=100)
    size: StrictInt = Field(ge=0, description="Exact size in bytes; the upload URL is bound to it.")
    sha256: str | None = Field(default=None, description="Hex SHA-256 of the bytes, if known.")
    metadata: dict[str, Any] = Field(default_factory=dict)
    print: PrintIn | None = Field(
        default=None, description="Target print size; the file then reports its print_fitness."
    )


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
    """The image's facts, as verification read them from the decoded bytes.

    ``width`` and ``height`` are as stored, ``display_width`` and ``display_height`` after
    the EXIF ``orientation``. ``dpi`` is the resolution the file records (``[x, y]``), not
    print fitness. ``captured_at`` is EXIF ``DateTimeOriginal`` (ISO 8601, with its offset
    when recorded). ``has_location``: GPS tags are present (never copied).
    """

    width: int
    height: int
    display_width: int
    display_height: int
    format: str
    orientation: int
    mode: str
    frames: int
    animated: bool
    bit_depth: int | None
    cmyk: bool
    icc_embedded: bool
    icc_description: str | None
    dpi: tuple[float, float] | None
    captured_at: str | None
    camera_make: str | None
    camera_model: str | None
    has_location: bool

    @classmethod
    def of(cls, image: ImageInfo) -> ImageOut:
        return cls(
            width=image.width,
            height=image.height,
            display_width=image.display_width,
            display_height=image.display_height,
            format=image.format,
            orientation=image.orientation,
            mode=image.mode,
            frames=image.frames,
            animated=image.animated,
            bit_depth=image.bit_depth,
            cmyk=image.cmyk,
            icc_embedded=image.icc_embedded,
            icc_description=image.icc_description,
            dpi=image.dpi,
            captured_at=image.captured_at,
            camera_make=image.camera_make,
            camera_model=image.camera_model,
            has_location=image.has_location,
        )


class RenditionOut(BaseModel):
    """A derived image (oriented, sRGB, no metadata); ``GET /v1/files/{id}/preview`` serves it."""

    width: int
    height: int
    content_type: str
    size: int

    @classmethod
    def of(cls, rendition: Rendition) -> RenditionOut:
        return cls(
            width=rendition.width,
            height=rendition.height,
            content_type=rendition.content_type,
            size=rendition.size,
        )


class PrintOut(BaseModel):
    width_mm: float
    height_mm: float

    @classmethod
    def of(cls, size: PrintSize) -> PrintOut:
        return cls(width_mm=size.width_mm, height_mm=size.height_mm)


class PrintFitnessOut(BaseModel):
    """How well the pixels cover the print: whole dpi, long edge on long edge, cropped to fill."""

    effective_dpi: int
    verdict: PrintVerdict

    @classmethod
    def of(cls, fitness: PrintFitness) -> PrintFitnessOut:
        return cls(effective_dpi=fitness.effective_dpi, verdict=fitness.verdict)


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
    placeholder: str | None = None
    """BlurHash of the picture as displayed: paint its colours before any bytes arrive."""
    renditions: dict[str, RenditionOut] = Field(default_factory=dict)
    """The renditions that exist, by name (``thumb``, ``preview``); empty when none."""
    print: PrintOut | None = None
    """The target print size, if one was given."""
    print_fitness: PrintFitnessOut | None = None
    """Computed from the stored facts on every read; null without image facts or print size."""
    distance: int | None = None
    """Only in a ``similar_to`` listing: bits in which its perceptual hash differs (0-64)."""
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
        thresholds: PrintThresholds,
        deduplicated: bool = False,
        distance: int | None = None,
    ) -> FileOut:
        """The file as clients see it; ``thresholds`` judge its print fitness."""
        fitness = fitness_of(record, thresholds)
        return cls(
            id=record.id,
            state=record.state.value,
            reason=record.reason,
            filename=record.filename,
            content_type=record.detected_type or record.declared_type,
            size=record.declared_size,
            sha256=record.sha256 or record.declared_sha256,
            image=ImageOut.of(record.image) if record.image else None,
            placeholder=record.placeholder,
            renditions={r.name.value: RenditionOut.of(r) for r in record.renditions},
            print=PrintOut.of(record.print_size) if record.print_size else None,
            print_fitness=PrintFitnessOut.of(fitness) if fitness else None,
            distance=distance,
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

    @classmethod
    def similar(cls, found: list[SimilarFile], thresholds: PrintThresholds) -> FileList:
        """A ``similar_to`` answer: one page, each file with its ``distance``."""
        files = [FileOut.of(f.record, thresholds=thresholds, distance=f.distance) for f in found]
        return cls(files=files, next_cursor=None)


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
