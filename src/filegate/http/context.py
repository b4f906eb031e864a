"""What the HTTP layer needs from the composition root, grouped by what uses it.

Optional capabilities are ``None`` when this shape lacks them; :func:`filegate.http.app.
create_app` mounts a capability's routes only when it is present, so ``/openapi.json``
lists only routes that work here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from filegate.domain.ports import EventFeed, FileRepository, ObjectStore, Queue, ServedStore
from filegate.domain.printing import PrintThresholds
from filegate.http.ports import MetricsExposition, QrCodes, Tokens
from filegate.services.changes import FileChanges
from filegate.services.files import FileService
from filegate.services.grants import GrantService
from filegate.services.history import FileHistory
from filegate.services.intake import Intake
from filegate.services.multipart import MultipartService
from filegate.services.previews import PreviewService
from filegate.services.principals import Authenticator
from filegate.services.quotas import QuotaService
from filegate.services.registration import Registrar
from filegate.services.retention import RetentionService
from filegate.services.sessions import SessionService
from filegate.services.similar import SimilarFiles
from filegate.services.uploads import UploadRecorder


@dataclass(frozen=True, kw_only=True)
class EventStreamSettings:
    """How ``GET /v1/events`` paces a stream."""

    max_duration: timedelta = timedelta(minutes=5)
    """A stream ends after this long; the client reconnects with ``Last-Event-ID``."""
    keepalive: timedelta = timedelta(seconds=15)
    """After this long with nothing sent, a comment line is sent (idle proxies cut)."""
    retry: timedelta = timedelta(seconds=3)
    """The reconnection delay the stream advises (its ``retry:`` field)."""


@dataclass(frozen=True, kw_only=True)
class ApiSettings:
    """The few settings the HTTP layer reads."""

    public_url: str
    """Base URL clients reach filegate at (upload-grant links start with it)."""
    max_batch: int = 500
    """Most items of one batch request."""
    cors_origins: tuple[str, ...] = ()
    web_connect_src: tuple[str, ...] = ()
    """Extra origins the web page may connect to (its CSP ``connect-src``)."""
    max_request_bytes: int = 16 * 1024 * 1024
    print_thresholds: PrintThresholds = field(default_factory=PrintThresholds)
    """The dpi a file's ``print_fitness`` is judged by."""
    event_stream: EventStreamSettings = field(default_factory=EventStreamSettings)


@dataclass(frozen=True, kw_only=True)
class GuestApi:
    """Who is calling, guest sessions, upload grants, and registration on their behalf."""

    authenticator: Authenticator
    sessions: SessionService
    grants: GrantService
    intake: Intake


@dataclass(frozen=True, kw_only=True)
class LifecycleApi:
    """Retention and print-size changes, audit history and quota status."""

    retention: RetentionService
    changes: FileChanges
    """``PATCH`` of a file: retention and/or print size."""
    history: FileHistory
    quotas: QuotaService


@dataclass(frozen=True, kw_only=True)
class Backends:
    """The backends themselves, for the readiness probe and the queue-depth gauges."""

    files: FileRepository
    store: ObjectStore
    queue: Queue


@dataclass(frozen=True, kw_only=True)
class ApiContext:
    """The services behind API v1, built once by ``filegate.bootstrap``."""

    settings: ApiSettings
    tokens: Tokens
    metrics: MetricsExposition
    qr: QrCodes
    backends: Backends
    registrar: Registrar
    files: FileService
    similar: SimilarFiles
    previews: PreviewService
    uploads: UploadRecorder
    guests: GuestApi
    lifecycle: LifecycleApi
    multipart: MultipartService | None = None
    """Present when the store takes large files in parts (its routes are mounted then)."""
    served: ServedStore | None = None
    """Present when the API itself serves the store's signed URLs (the local store)."""
    events: EventFeed | None = None
    """Present when this shape keeps an event log (``GET /v1/events`` is mounted then)."""
