"""The filegate Python SDK: ``Client`` (sync) and ``AsyncClient`` (asyncio).

It depends on httpx and the standard library only (an import-linter contract keeps it so),
so it can call a remote filegate server from any Python program::

    from filegate_client import Client

    with Client("https://files.example.com", token) as client:
        file = client.upload("photo.jpg", wait=True)
        print(file.state, file.image)
"""

from filegate_client._async import AsyncClient
from filegate_client._download import Destination
from filegate_client._retry import NO_RETRIES, RetryPolicy
from filegate_client._sources import Source, sniff_content_type
from filegate_client._sync import Client
from filegate_client.errors import (
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
from filegate_client.models import (
    Declaration,
    File,
    FileState,
    ImageInfo,
    Page,
    PrintFitness,
    PrintSize,
    PrintVerdict,
    Rendition,
    UploadInstructions,
)
from filegate_client.progress import ProgressCallback, UploadOutcome, UploadPhase, UploadProgress
from filegate_client.reasons import explain

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
    "PrintFitness",
    "PrintSize",
    "PrintVerdict",
    "ProgressCallback",
    "RateLimitError",
    "Rendition",
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
