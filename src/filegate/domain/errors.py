"""Errors with stable machine codes. The HTTP status table lives in ``filegate.http.problems``."""

from collections.abc import Mapping
from enum import StrEnum
from typing import Any


class ErrorCode(StrEnum):
    """Codes a client can rely on; extend, never change a meaning."""

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


class FilegateError(Exception):
    """A failure a caller can act on: a stable ``code``, a human ``detail`` and extra fields.

    ``extra`` holds machine-readable context (a limit, current usage) that the HTTP layer
    adds to the problem body; it must never hold secrets or exception text.
    """

    def __init__(
        self, code: ErrorCode, detail: str, extra: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.extra: Mapping[str, Any] = extra or {}


class BackendUnavailable(Exception):
    """A backend (database, store, queue) failed in a way that may pass; retry later.

    Adapters raise it (chaining the driver's exception) so the core can tell transient
    infrastructure trouble from a bad file, and never reject a file because of it.
    """


def not_found() -> FilegateError:
    """The one answer for a missing file, another owner's file and a malformed id."""
    return FilegateError(ErrorCode.FILE_NOT_FOUND, "No such file.")


class PoisonMessage(Exception):
    """A queue message that can never succeed (malformed, unknown version): dead-letter it."""
