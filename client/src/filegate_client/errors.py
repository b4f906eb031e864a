"""Errors of the SDK. Every one carries a stable machine ``code``.

:class:`FilegateAPIError` is an answer of the server (or of the object store behind a
signed URL) that is not a success; its ``code`` is the problem document's ``code`` (see
:class:`ErrorCode`). Subclasses name the common statuses, so callers can write
``except NotFoundError``. Other errors happen on the client's side.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

import httpx

from filegate_client.models import File


class ErrorCode(StrEnum):
    """The server's stable problem codes (new ones may appear; meanings never change)."""

    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    FILE_NOT_FOUND = "FILE_NOT_FOUND"
    NOT_FOUND = "NOT_FOUND"
    SESSION_NOT_FOUND = "SESSION_NOT_FOUND"
    GRANT_NOT_FOUND = "GRANT_NOT_FOUND"
    GRANT_ENDED = "GRANT_ENDED"
    INVALID_STATE = "INVALID_STATE"
    NOT_READY = "NOT_READY"
    NO_RENDITION = "NO_RENDITION"
    ALREADY_UPLOADED = "ALREADY_UPLOADED"
    UPLOAD_INCOMPLETE = "UPLOAD_INCOMPLETE"
    IDEMPOTENCY_CONFLICT = "IDEMPOTENCY_CONFLICT"
    FILE_TOO_LARGE = "FILE_TOO_LARGE"
    REQUEST_TOO_LARGE = "REQUEST_TOO_LARGE"
    QUOTA_EXCEEDED = "QUOTA_EXCEEDED"
    UNSUPPORTED_MEDIA_TYPE = "UNSUPPORTED_MEDIA_TYPE"
    EMPTY_FILE = "EMPTY_FILE"
    VALIDATION_ERROR = "VALIDATION_ERROR"
    TOO_MANY_PENDING = "TOO_MANY_PENDING"
    RATE_LIMITED = "RATE_LIMITED"
    URL_EXPIRED = "URL_EXPIRED"
    SIGNATURE_MISMATCH = "SIGNATURE_MISMATCH"
    CHECKSUM_MISMATCH = "CHECKSUM_MISMATCH"
    LENGTH_MISMATCH = "LENGTH_MISMATCH"
    AMBIGUOUS_FRAMING = "AMBIGUOUS_FRAMING"
    INVALID_CURSOR = "INVALID_CURSOR"
    RANGE_NOT_SATISFIABLE = "RANGE_NOT_SATISFIABLE"
    METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
    UNAVAILABLE = "UNAVAILABLE"
    STORAGE_FULL = "STORAGE_FULL"
    INTERNAL = "INTERNAL"


class FilegateClientError(Exception):
    """Base of every SDK error; ``code`` is a stable machine-readable string."""

    code: str = "CLIENT_ERROR"

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code


class FilegateConnectionError(FilegateClientError):
    """The server (or the store) could not be reached, even after the retries."""

    code = "CONNECTION_FAILED"


class SourceError(FilegateClientError):
    """The bytes to upload could not be read (missing file, unreadable stream)."""

    code = "UNREADABLE_SOURCE"


class DestinationError(FilegateClientError):
    """A download could not be written where it was asked to go."""

    code = "UNWRITABLE_DESTINATION"


class DownloadChecksumError(FilegateClientError):
    """The downloaded bytes do not have the file's SHA-256; nothing was kept at a path."""

    code = "DOWNLOAD_CHECKSUM_MISMATCH"

    def __init__(self, expected: str, actual: str) -> None:
        super().__init__(f"downloaded bytes have SHA-256 {actual}, expected {expected}")
        self.expected = expected
        self.actual = actual


class WaitTimeoutError(FilegateClientError, TimeoutError):
    """The file did not reach a final state in time; ``file`` is how it was last seen."""

    code = "WAIT_TIMEOUT"

    def __init__(self, file: File, timeout: float) -> None:
        super().__init__(f"file {file.id} is still {file.state.value} after {timeout:g} s")
        self.file = file


class FilegateAPIError(FilegateClientError):
    """A non-success answer: its HTTP ``status``, stable ``code``, human ``detail``, ``body``.

    ``body`` is the parsed problem document (or ``{}`` when the answer was not JSON).
    """

    def __init__(self, status: int, code: str, detail: str, body: Mapping[str, Any]) -> None:
        super().__init__(f"{status} {code}: {detail}", code)
        self.status = status
        self.detail = detail
        self.body = body

    @property
    def error_code(self) -> ErrorCode | None:
        """``code`` as a known :class:`ErrorCode`, or ``None`` for a code this SDK predates."""
        try:
            return ErrorCode(self.code)
        except ValueError:
            return None


class BadRequestError(FilegateAPIError):
    """400: e.g. uploaded bytes that differ from what the URL was signed for."""


class AuthenticationError(FilegateAPIError):
    """401: missing, malformed or expired bearer token."""


class PermissionDeniedError(FilegateAPIError):
    """403: the token may not do this, or a signed URL is expired or tampered with."""


class NotFoundError(FilegateAPIError):
    """404: no such file for this owner (or no such resource)."""


class ConflictError(FilegateAPIError):
    """409: the file's state forbids it (``INVALID_STATE``, ``NOT_READY``, ...)."""


class ContentTooLargeError(FilegateAPIError):
    """413: file, request or quota too large."""


class UnsupportedMediaTypeError(FilegateAPIError):
    """415: the declared content type is not accepted."""


class UnprocessableEntityError(FilegateAPIError):
    """422: a malformed declaration (``VALIDATION_ERROR``, ``EMPTY_FILE``)."""


class RateLimitError(FilegateAPIError):
    """429: too many requests or pending registrations; ``retry_after`` in seconds if given."""

    @property
    def retry_after(self) -> float | None:
        value = self.body.get("retry_after")
        return float(value) if isinstance(value, int | float) else None


class ServerError(FilegateAPIError):
    """5xx: the server failed, a backend is unavailable (``UNAVAILABLE``) or the store
    has no space left (507 ``STORAGE_FULL``)."""


_BY_STATUS: dict[int, type[FilegateAPIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    413: ContentTooLargeError,
    415: UnsupportedMediaTypeError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}

_XML_FIELD = re.compile(r"<(Code|Message)>([^<]*)</\1>")


def api_error(response: httpx.Response) -> FilegateAPIError:
    """The error an unsuccessful ``response`` stands for (its body must have been read).

    Problem JSON gives ``code`` and ``detail``; an S3-style XML error gives its ``Code``
    and ``Message``; anything else becomes ``HTTP_<status>``.
    """
    return _error(response.status_code, _problem(response), response.reason_phrase)


def _problem(response: httpx.Response) -> dict[str, Any]:
    text = response.text
    try:
        parsed = json.loads(text)
    except ValueError:
        fields = {name.lower(): value for name, value in _XML_FIELD.findall(text)}
        return {"code": fields.get("code"), "detail": fields.get("message")} if fields else {}
    return parsed if isinstance(parsed, dict) else {}


def error_from_problem(problem: Mapping[str, Any]) -> FilegateAPIError:
    """The error a problem document stands for (e.g. one item of a batch answer)."""
    return _error(int(problem.get("status") or 0), dict(problem), "")


def _error(status: int, body: dict[str, Any], fallback_detail: str) -> FilegateAPIError:
    code = str(body.get("code") or f"HTTP_{status}")
    detail = str(body.get("detail") or body.get("title") or fallback_detail)
    kind = _BY_STATUS.get(status, ServerError if status >= 500 else FilegateAPIError)
    return kind(status, code, detail, body)
