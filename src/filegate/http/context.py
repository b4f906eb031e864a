"""What the HTTP layer needs from the composition root."""

from __future__ import annotations

from dataclasses import dataclass

from filegate.adapters.prometheus import PrometheusMetrics
from filegate.adapters.tokens import TokenAuthority
from filegate.domain.ports import FileRepository, ObjectStore, Queue
from filegate.services.files import FileService
from filegate.services.grants import GrantService
from filegate.services.history import FileHistory
from filegate.services.intake import Intake
from filegate.services.multipart import MultipartService
from filegate.services.principals import Authenticator
from filegate.services.quotas import QuotaService
from filegate.services.registration import Registrar
from filegate.services.retention import RetentionService
from filegate.services.sessions import SessionService
from filegate.services.uploads import UploadRecorder


@dataclass(frozen=True)
class ApiContext:
    """The services behind API v1, built once by ``filegate.bootstrap.runtime``."""

    tokens: TokenAuthority
    registrar: Registrar
    files: FileService
    uploads: UploadRecorder
    repository: FileRepository
    store: ObjectStore
    queue: Queue
    max_batch: int
    authenticator: Authenticator
    intake: Intake
    sessions: SessionService
    grants: GrantService
    public_url: str
    """Base URL clients reach filegate at (upload-grant links start with it)."""
    cors_origins: tuple[str, ...] = ()
    web_connect_src: tuple[str, ...] = ()
    """Extra origins the web page may connect to (its CSP ``connect-src``)."""
    max_request_bytes: int = 16 * 1024 * 1024
    multipart: MultipartService | None = None
    """Present when the store takes large files in parts."""
    metrics: PrometheusMetrics | None = None
    """Present to count requests and serve ``GET /metrics``."""
    retention: RetentionService | None = None
    history: FileHistory | None = None
    quotas: QuotaService | None = None
    """Retention, audit history and quota status (absent: those routes answer 404)."""
