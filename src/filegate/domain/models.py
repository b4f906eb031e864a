"""Frozen value types of the core. Times are timezone-aware UTC."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from filegate.domain.states import FileState


class RejectionReason(StrEnum):
    """Why verification refused a file (the ``reason`` of a rejected file)."""

    EMPTY_FILE = "EMPTY_FILE"
    SIZE_MISMATCH = "SIZE_MISMATCH"
    CHECKSUM_MISMATCH = "CHECKSUM_MISMATCH"
    NOT_AN_IMAGE = "NOT_AN_IMAGE"
    UNSUPPORTED_FORMAT = "UNSUPPORTED_FORMAT"
    TYPE_MISMATCH = "TYPE_MISMATCH"
    CORRUPT_IMAGE = "CORRUPT_IMAGE"
    IMAGE_TOO_LARGE = "IMAGE_TOO_LARGE"
    TOO_MANY_FRAMES = "TOO_MANY_FRAMES"
    DECODE_TIMEOUT = "DECODE_TIMEOUT"
    DECODE_MEMORY_EXCEEDED = "DECODE_MEMORY_EXCEEDED"
    DECODER_CRASH = "DECODER_CRASH"
    """The decoder process died on this file on every one of its bounded attempts."""


class TransitionReason(StrEnum):
    """Reasons recorded for transitions that are not rejections."""

    UPLOAD_EXPIRED = "UPLOAD_EXPIRED"
    DELETED_BY_OWNER = "DELETED_BY_OWNER"
    CLAIMED = "CLAIMED"
    """A user claimed the guest session that owned the file (the owner changed)."""
    SESSION_ENDED = "SESSION_ENDED"
    """The guest session that owned the file ended (logout or expiry)."""
    RETENTION_EXPIRED = "RETENTION_EXPIRED"
    """The file's retention deadline (``retain_until``) passed: the lifecycle deleted it."""
    OBJECT_MISSING = "OBJECT_MISSING"
    """The reconciler found the file's object gone from the store."""


class Actor(StrEnum):
    """Who caused a transition, for the history."""

    API = "api"
    STORE = "store"
    WORKER = "worker"
    SWEEPER = "sweeper"
    LIFECYCLE = "lifecycle"
    RECONCILER = "reconciler"


class OwnerKind(StrEnum):
    """The two kinds of owner."""

    USER = "user"
    SESSION = "session"


@dataclass(frozen=True)
class Owner:
    """Whoever files belong to: a user (``sub``) or an anonymous session."""

    kind: OwnerKind
    id: str

    @property
    def key(self) -> str:
        """The stable string stored in the database, e.g. ``user:alice``."""
        return f"{self.kind.value}:{self.id}"

    @classmethod
    def parse(cls, key: str) -> Owner:
        """Inverse of :attr:`key`; raises ``ValueError`` on anything else."""
        kind, sep, ident = key.partition(":")
        if not sep or not ident:
            raise ValueError(f"not an owner key: {key!r}")
        return cls(OwnerKind(kind), ident)


_SWAPPING_ORIENTATIONS = frozenset({5, 6, 7, 8})
"""EXIF orientations that turn the picture a quarter: displayed width is stored height."""


@dataclass(frozen=True)
class ImageInfo:
    """What verification learned from the decoded bytes: the image's facts.

    ``width`` and ``height`` are as stored; :attr:`display_width` and
    :attr:`display_height` after the EXIF ``orientation`` is applied. ``captured_at`` is
    EXIF ``DateTimeOriginal`` as ISO 8601, with its UTC offset when the file records one
    (``OffsetTimeOriginal``), else a local time without offset. ``has_location`` says
    whether GPS tags are present; the coordinates are never copied anywhere.
    """

    format: str
    width: int
    height: int
    orientation: int
    mode: str
    frames: int = 1
    animated: bool = False
    bit_depth: int | None = None
    """Bits per sample (8 for most photos, 16 for 16-bit PNG/TIFF, 10-12 for HDR HEIF)."""
    cmyk: bool = False
    icc_embedded: bool = False
    icc_description: str | None = None
    dpi: tuple[float, float] | None = None
    """Resolution as recorded in the file (x, y), or ``None`` when it records none."""
    captured_at: str | None = None
    camera_make: str | None = None
    camera_model: str | None = None
    has_location: bool = False

    @property
    def display_width(self) -> int:
        return self.height if self.orientation in _SWAPPING_ORIENTATIONS else self.width

    @property
    def display_height(self) -> int:
        return self.width if self.orientation in _SWAPPING_ORIENTATIONS else self.height


class RenditionName(StrEnum):
    """The derived images made from a verified original."""

    THUMB = "thumb"
    PREVIEW = "preview"


@dataclass(frozen=True)
class Rendition:
    """A derived image stored next to the original: oriented, sRGB, without metadata."""

    name: RenditionName
    content_type: str
    width: int
    height: int
    size: int


@dataclass(frozen=True)
class RenditionFile:
    """A rendition the inspector wrote to a local file, waiting to be stored."""

    rendition: Rendition
    path: str


@dataclass(frozen=True)
class PrintSize:
    """A target print size in millimetres (either orientation)."""

    width_mm: float
    height_mm: float


@dataclass(frozen=True)
class UploadSpec:
    """What an upload URL is bound to."""

    size: int
    content_type: str
    sha256: str | None


@dataclass(frozen=True)
class FileRecord:
    """One registered file as the repository stores it."""

    id: str
    owner: str
    object_key: str
    filename: str
    declared_size: int
    declared_type: str
    declared_sha256: str | None
    state: FileState
    created_at: datetime
    updated_at: datetime
    upload_expires_at: datetime
    version: int = 1
    reason: str | None = None
    detected_type: str | None = None
    sha256: str | None = None
    image: ImageInfo | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    last_sequencer: str | None = None
    """S3 sequencer of the last upload event applied (drops stale events)."""
    multipart_upload_id: str | None = None
    """The store's multipart upload, for files uploaded in parts."""
    retain_until: datetime | None = None
    """Retention deadline: the lifecycle deletes the file after it (unless pinned)."""
    pinned: bool = False
    """Retained indefinitely, whatever ``retain_until`` says."""
    placeholder: str | None = None
    """BlurHash of the picture as displayed, for painting its colours before any bytes."""
    perceptual_hash: int | None = None
    """64-bit perceptual hash (unsigned) of the picture, for finding near-duplicates."""
    renditions: tuple[Rendition, ...] = ()
    print_size: PrintSize | None = None
    trace_parent: str | None = None
    """W3C ``traceparent`` of the file's registration span: the root of the file's trace."""

    @property
    def upload_spec(self) -> UploadSpec:
        return UploadSpec(self.declared_size, self.declared_type, self.declared_sha256)


@dataclass(frozen=True)
class StateChange:
    """A compare-and-set request: move to ``target`` and record these facts."""

    target: FileState
    actor: Actor
    reason: str | None = None
    detected_type: str | None = None
    sha256: str | None = None
    image: ImageInfo | None = None
    sequencer: str | None = None
    placeholder: str | None = None
    perceptual_hash: int | None = None
    renditions: tuple[Rendition, ...] = ()


@dataclass(frozen=True)
class Transition:
    """One row of a file's append-only history."""

    file_id: str
    from_state: FileState | None
    to_state: FileState
    reason: str | None
    actor: str
    at: datetime


@dataclass(frozen=True)
class ObjectInfo:
    """What the store says about a stored object."""

    key: str
    size: int
    etag: str


@dataclass(frozen=True)
class ListedObject:
    """An object as a store's listing shows it: key, size and when it was last written."""

    key: str
    size: int
    last_modified: datetime


@dataclass(frozen=True)
class SignedRequest:
    """A presigned request: everything a client needs to perform it without a token."""

    method: str
    url: str
    headers: Mapping[str, str]
    expires_at: datetime


@dataclass(frozen=True)
class DownloadTerms:
    """What a verified download URL says: serve as ``content_type``, attached as ``filename``."""

    content_type: str
    filename: str
    expires_at: datetime
    inline: bool = False
    """Shown in place (``Content-Disposition: inline``) rather than attached."""


@dataclass(frozen=True)
class WrittenObject:
    """A published upload: what ``head`` will report, and the SHA-256 of its bytes."""

    info: ObjectInfo
    sha256: str


class FailureReason(StrEnum):
    """Why a queue message failed: a stable code, the first word of its dead-letter reason.

    A permanent reason sends the message to the dead-letter queue; the others retry it.
    """

    MALFORMED = "MALFORMED"
    """The body is no message filegate reads, or of a type nobody handles (permanent)."""
    POISON = "POISON"
    """The handler found it can never succeed (permanent)."""
    MAX_RECEIVES = "MAX_RECEIVES"
    """Received more often than its queue allows; the queue buries it (permanent)."""
    BACKEND_UNAVAILABLE = "BACKEND_UNAVAILABLE"
    """A store, database or queue was unavailable (retried)."""
    UNEXPECTED = "UNEXPECTED"
    """The handler raised an error it does not declare (retried)."""
    DELIVERY_FAILED = "DELIVERY_FAILED"
    """A webhook endpoint did not accept the event this time (retried on its schedule)."""
    DELIVERY_EXHAUSTED = "DELIVERY_EXHAUSTED"
    """A webhook endpoint refused the event for its whole retry schedule (permanent)."""

    @property
    def permanent(self) -> bool:
        """Whether a message failing so can never succeed."""
        return self in _PERMANENT_FAILURES


_PERMANENT_FAILURES = frozenset(
    {
        FailureReason.MALFORMED,
        FailureReason.POISON,
        FailureReason.MAX_RECEIVES,
        FailureReason.DELIVERY_EXHAUSTED,
    }
)

MAX_DEAD_REASON_LENGTH = 200
"""The longest dead-letter reason a queue must store."""


def dead_letter_reason(reason: FailureReason, detail: str = "") -> str:
    """The text a queue stores as a dead message's reason: ``CODE`` or ``CODE: detail``,
    cut to :data:`MAX_DEAD_REASON_LENGTH` (the code always survives)."""
    text = f"{reason.value}: {detail}" if detail else reason.value
    return text[:MAX_DEAD_REASON_LENGTH]


@dataclass(frozen=True)
class Message:
    """One queue message as received: ``receipt`` is only valid for this receive."""

    id: str
    receipt: str
    body: str
    receive_count: int


@dataclass(frozen=True)
class VisibilityChange:
    """Make the message claimed with ``receipt`` visible again ``delay`` from now (zero: now)."""

    receipt: str
    delay: timedelta


@dataclass(frozen=True)
class DeadMessage:
    """A message in a dead-letter queue, and why it is there (``reason``: the text its
    writer stored, from :func:`dead_letter_reason` when filegate wrote it)."""

    id: str
    body: str
    reason: str
    receive_count: int
    sent_at: datetime


@dataclass(frozen=True)
class Page:
    """A slice of a listing and the cursor that continues it (``None`` at the end)."""

    items: list[FileRecord]
    next_cursor: str | None


@dataclass(frozen=True)
class QueueDepth:
    """A queue's backlog: waiting, claimed and dead-lettered messages."""

    visible: int
    in_flight: int
    dead: int
    oldest_age_seconds: float | None


@dataclass(frozen=True)
class Inspection:
    """The outcome of inspecting an image file: a rejection, or its type and facts."""

    reason: RejectionReason | None
    content_type: str | None = None
    image: ImageInfo | None = None
    placeholder: str | None = None
    perceptual_hash: int | None = None
    renditions: tuple[RenditionFile, ...] = ()
    """Written into the directory the caller gave, only for an accepted image."""


@dataclass(frozen=True)
class ObjectCreated:
    """The one normalised upload event: an object now exists under ``key``.

    ``sequencer`` (S3's ordering token, hex) lets a consumer drop stale events; local and
    client-signalled events carry none. ``trace_parent`` is the W3C ``traceparent`` of the
    span that sent the event (filegate's own events, when traced; S3's carry none).
    """

    key: str
    size: int
    etag: str
    sequencer: str | None = None
    trace_parent: str | None = None


@dataclass(frozen=True)
class MultipartUpload:
    """A multipart upload in progress: the object ``key`` it will create, and the store's id."""

    key: str
    upload_id: str


@dataclass(frozen=True)
class UploadedPart:
    """A part the store holds for a multipart upload (1-based ``number``)."""

    number: int
    etag: str
    size: int


@dataclass(frozen=True)
class PartUrl:
    """A presigned upload of one part: PUT exactly ``headers`` to ``url`` before ``expires_at``.

    The store answers with the part's ETag (a response header), which completion needs.
    """

    number: int
    url: str
    headers: Mapping[str, str]
    expires_at: datetime
