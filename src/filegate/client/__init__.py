"""The filegate Python SDK: ``Client`` (sync) and ``AsyncClient`` (asyncio).

It depends on httpx and the standard library only (an import-linter contract keeps it so),
so it can call a remote filegate server from any Python program::

    from filegate.client import Client

    with Client("https://files.example.com", token) as client:
        file = client.upload("photo.jpg", wait=True)
        print(file.state, file.image)
"""

from filegate.client._async import AsyncClient
from filegate.client._download import Destination
from filegate.client._retry import NO_RETRIES, RetryPolicy
from filegate.client._sources import Source, sniff_content_type
from filegate.client._sync import Client
from filegate.client.errors import (
    AuthenticationError,
    BadRequestError,
    ConflictError,
    ContentTooLargeError,
    DestinationError,
    DownloadChecksumError,
    ErrorCode,
    FilegateAPIError,
    FilegateClientError,
    FilegateConnectionError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    SourceError,
    UnprocessableEntityError,
    UnsupportedMediaTypeError,
    WaitTimeoutError,
)
from filegate.client.models import (
    Declaration,
    File,
    FileState,
    ImageInfo,
    Page,
    UploadInstructions,
)
from filegate.client.progress import ProgressCallback, UploadOutcome, UploadPhase, UploadProgress
from filegate.client.reasons import explain

__all__ = [
    "NO_RETRIES",
    "AsyncClient",
    "AuthenticationError",
    "BadRequestError",
    "Client",
    "ConflictError",
    "ContentTooLargeError",
    "Declaration",
    "Destination",
    "DestinationError",
    "DownloadChecksumError",
    "ErrorCode",
    "File",
    "FileState",
    "FilegateAPIError",
    "FilegateClientError",
    "FilegateConnectionError",
    "ImageInfo",
    "NotFoundError",
    "Page",
    "PermissionDeniedError",
    "ProgressCallback",
    "RateLimitError",
    "RetryPolicy",
    "ServerError",
    "Source",
    "SourceError",
    "UnprocessableEntityError",
    "UnsupportedMediaTypeError",
    "UploadInstructions",
    "UploadOutcome",
    "UploadPhase",
    "UploadProgress",
    "WaitTimeoutError",
    "explain",
    "sniff_content_type",
]
