"""What the HTTP layer needs from the composition root."""

from __future__ import annotations

from dataclasses import dataclass

from filegate.adapters.tokens import TokenAuthority
from filegate.domain.ports import FileRepository, ObjectStore, Queue
from filegate.services.files import FileService
from filegate.services.registration import Registrar
from filegate.services.uploads import UploadRecorder


@dataclass(frozen=True)
class ApiContext:
    """The services behind API v1, built once by ``filegate.bootstrap``."""

    tokens: TokenAuthority
    registrar: Registrar
    files: FileService
    uploads: UploadRecorder
    repository: FileRepository
    store: ObjectStore
    queue: Queue
    max_batch: int
    cors_origins: tuple[str, ...] = ()
    max_request_bytes: int = 16 * 1024 * 1024
