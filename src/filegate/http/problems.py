"""One table from error code to HTTP status, and ``application/problem+json`` responses."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from filegate.domain.errors import BackendUnavailable, ErrorCode, FilegateError

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"

STATUS: dict[ErrorCode, int] = {
    ErrorCode.UNAUTHENTICATED: 401,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.URL_EXPIRED: 403,
    ErrorCode.SIGNATURE_MISMATCH: 403,
    ErrorCode.FILE_NOT_FOUND: 404,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.SESSION_NOT_FOUND: 404,
    ErrorCode.GRANT_NOT_FOUND: 404,
    ErrorCode.NO_RENDITION: 404,
    ErrorCode.GRANT_ENDED: 410,
    ErrorCode.INVALID_STATE: 409,
    ErrorCode.NOT_READY: 409,
    ErrorCode.ALREADY_UPLOADED: 409,
    ErrorCode.UPLOAD_INCOMPLETE: 409,
    ErrorCode.IDEMPOTENCY_CONFLICT: 409,
    ErrorCode.FILE_TOO_LARGE: 413,
    ErrorCode.REQUEST_TOO_LARGE: 413,
    ErrorCode.QUOTA_EXCEEDED: 413,
    ErrorCode.UNSUPPORTED_MEDIA_TYPE: 415,
    ErrorCode.EMPTY_FILE: 422,
    ErrorCode.VALIDATION_ERROR: 422,
    ErrorCode.TOO_MANY_PENDING: 429,
    ErrorCode.RATE_LIMITED: 429,
    ErrorCode.CHECKSUM_MISMATCH: 400,
    ErrorCode.LENGTH_MISMATCH: 400,
    ErrorCode.AMBIGUOUS_FRAMING: 400,
    ErrorCode.INVALID_CURSOR: 400,
    ErrorCode.RANGE_NOT_SATISFIABLE: 416,
    ErrorCode.METHOD_NOT_ALLOWED: 405,
    ErrorCode.UNAVAILABLE: 503,
    ErrorCode.STORAGE_FULL: 507,
    ErrorCode.INTERNAL: 500,
}

# The statuses FastAPI and Starlette raise themselves. A 400 is FastAPI failing to read the
# body (not UTF-8, nested too deep): a malformed body like any other, so 422.
_FRAMEWORK_CODES: dict[int, ErrorCode] = {
    400: ErrorCode.VALIDATION_ERROR,
    404: ErrorCode.NOT_FOUND,
    405: ErrorCode.METHOD_NOT_ALLOWED,
}
_FRAMEWORK_DETAILS: dict[ErrorCode, str] = {
    ErrorCode.VALIDATION_ERROR: "The request body could not be read as JSON.",
    ErrorCode.NOT_FOUND: "No such resource.",
    ErrorCode.METHOD_NOT_ALLOWED: "This resource does not answer that method.",
    ErrorCode.INTERNAL: "Unexpected error.",
}

_TITLES: dict[int, str] = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    416: "Range Not Satisfiable",
    422: "Unprocessable Content",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
    507: "Insufficient Storage",
}


def status_title(status: int) -> str:
    """The reason phrase of ``status``, as problem documents carry it in ``title``."""
    return _TITLES.get(status, "Error")


def problem_body(
    code: ErrorCode, detail: str, extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The problem document for ``code`` (RFC 9457 fields plus ``code`` and extras)."""
    status = STATUS[code]
    body: dict[str, Any] = {
        "type": f"https://filegate.dev/problems/{code.value.lower().replace('_', '-')}",
        "title": status_title(status),
        "status": status,
        "detail": detail,
        "code": code.value,
    }
    body.update(extra or {})
    return body


def problem_response(
    code: ErrorCode,
    detail: str,
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """A ``JSONResponse`` carrying the problem document with the mapped status."""
    return JSONResponse(
        problem_body(code, detail, extra),
        status_code=STATUS[code],
        media_type=PROBLEM_JSON,
        headers=headers,
    )


def install_problem_handlers(app: FastAPI) -> None:
    """Make every error leave the app as ``application/problem+json`` with a stable code."""
    app.add_exception_handler(FilegateError, _on_filegate_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _on_validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _on_http_exception)  # type: ignore[arg-type]
    app.add_exception_handler(BackendUnavailable, _on_unavailable)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _on_unexpected)


async def _on_filegate_error(_: Request, exc: FilegateError) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if exc.code is ErrorCode.UNAUTHENTICATED else {}
    if isinstance(exc.extra.get("retry_after"), int):
        # A problem naming when to come back (seconds) says so in the standard header too.
        headers["Retry-After"] = str(exc.extra["retry_after"])
    return problem_response(exc.code, exc.detail, dict(exc.extra), headers or None)


async def _on_validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
    errors = [
        {"loc": [str(part) for part in err.get("loc", ())], "msg": str(err.get("msg", ""))}
        for err in exc.errors()
    ]
    return problem_response(
        ErrorCode.VALIDATION_ERROR, "The request is malformed.", {"errors": errors}
    )


async def _on_http_exception(_: Request, exc: StarletteHTTPException) -> JSONResponse:
    code = _FRAMEWORK_CODES.get(exc.status_code)
    if code is None:
        # Nothing in this app raises another status: should it happen, the caller still
        # gets a documented code, and the log says what escaped.
        log.error("unexpected HTTP %s: %s", exc.status_code, exc.detail)
        code = ErrorCode.INTERNAL
    # Keep the exception's headers: a 405 must name the allowed methods (``Allow``).
    headers = dict(exc.headers) if exc.headers else None
    return problem_response(code, _FRAMEWORK_DETAILS[code], headers=headers)


async def _on_unavailable(request: Request, exc: BackendUnavailable) -> JSONResponse:
    log.warning("backend unavailable: %s", exc, extra={"request_id": _request_id(request)})
    return problem_response(
        ErrorCode.UNAVAILABLE,
        "A backend is unavailable; retry later.",
        headers={"Retry-After": "1"},
    )


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    request_id = _request_id(request)
    log.exception("unhandled error", exc_info=exc, extra={"request_id": request_id})
    return problem_response(
        ErrorCode.INTERNAL,
        "Unexpected error.",
        {"request_id": request_id},
        headers={"X-Request-ID": request_id},
    )


def _request_id(request: Request) -> str:
    return str(getattr(request.state, "request_id", "") or uuid.uuid4().hex)
