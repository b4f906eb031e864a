"""Strict request framing: a body's length must have exactly one reading (RFC 9112 §6).

A request that two parsers could frame differently (a proxy by ``Content-Length``, this
server by ``Transfer-Encoding``) is the request-smuggling shape. Such requests are refused
with 400 ``AMBIGUOUS_FRAMING`` before the app reads a byte, and the connection is closed,
since where the next request would begin is exactly what is in doubt.

uvicorn's parser (h11) already refuses some shapes itself, with a plain-text 400, before
any middleware runs; others it folds into one header (two equal ``Content-Length``
values). This check covers what reaches the app either way, so it holds for any parser.
"""

from __future__ import annotations

import re

from starlette.types import ASGIApp, Receive, Scope, Send

from filegate.domain.errors import ErrorCode
from filegate.http.problems import problem_response

_DECIMAL = re.compile(rb"[0-9]{1,19}")


def framing_fault(headers: list[tuple[bytes, bytes]], http_version: str) -> str | None:
    """Why the framing of a request with ``headers`` is ambiguous, or ``None`` when it is not.

    ``headers`` are the raw ASGI pairs (lower-case names, duplicates kept). Refused:
    ``Content-Length`` with ``Transfer-Encoding``; more than one ``Content-Length`` (even
    equal) or a list value; a length that is not plain decimal digits; any
    ``Transfer-Encoding`` other than one ``chunked``; ``Transfer-Encoding`` on HTTP/1.0.
    """
    lengths = [value for name, value in headers if name == b"content-length"]
    codings = [value for name, value in headers if name == b"transfer-encoding"]
    if lengths and codings:
        return "Content-Length and Transfer-Encoding together."
    if len(lengths) > 1:
        return "More than one Content-Length."
    if lengths and not _DECIMAL.fullmatch(lengths[0].strip(b" \t")):
        return "Content-Length is not a plain decimal number."
    if len(codings) > 1:
        return "More than one Transfer-Encoding."
    if codings and codings[0].strip(b" \t").lower() != b"chunked":
        return "Transfer-Encoding other than chunked."
    if codings and http_version == "1.0":
        return "Transfer-Encoding on an HTTP/1.0 request."
    return None


class StrictFramingMiddleware:
    """Refuses requests whose body framing is ambiguous (see :func:`framing_fault`)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            fault = framing_fault(scope.get("headers", []), scope.get("http_version", "1.1"))
            if fault is not None:
                response = problem_response(
                    ErrorCode.AMBIGUOUS_FRAMING, fault, headers={"Connection": "close"}
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
