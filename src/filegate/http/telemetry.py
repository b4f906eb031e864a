"""One access-log line and one latency observation per HTTP request (pure ASGI)."""

from __future__ import annotations

import logging
import time
from typing import Any, Protocol

from starlette.types import ASGIApp, Message, Receive, Scope, Send

access_log = logging.getLogger("filegate.http.access")

PROBE_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
"""Polled every few seconds by orchestrators and Prometheus: logged at DEBUG, not INFO."""


class RequestObserver(Protocol):
    """Where finished requests are counted (the Prometheus adapter)."""

    def observe_request(self, method: str, route: str | None, status: int, seconds: float) -> None:
        """One request answered ``status`` after ``seconds``; ``route`` is the template of
        the route that matched it, ``None`` when none did."""
        ...


class RequestTelemetryMiddleware:
    """Times every HTTP request, then logs it and reports it to ``observer``.

    Sits inside :class:`~filegate.http.middleware.RequestIdMiddleware`, whose request id it
    logs. Metrics get the route *template* (``/v1/files/{file_id}``), never the raw path, so
    ids do not become label values. The log line has the path without its query string:
    signed URLs carry their signature there and upload-grant links their token. A request
    whose app raised before answering is counted as a 500 (the error handler answers it).
    """

    def __init__(self, app: ASGIApp, observer: RequestObserver | None = None) -> None:
        self.app = app
        self.observer = observer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_noting_status)
        finally:
            self._report(scope, status, time.perf_counter() - started)

    def _report(self, scope: Scope, status: int, seconds: float) -> None:
        method = str(scope.get("method", ""))
        route = route_template(scope)
        if self.observer is not None:
            self.observer.observe_request(method, route, status, seconds)
        path = str(scope.get("path", ""))
        fields = {
            "method": method,
            "route": route,
            "path": path,
            "status": status,
            "duration_ms": round(seconds * 1000, 3),
            "request_id": scope.get("state", {}).get("request_id"),
            "client_ip": _client_ip(scope),
        }
        level = logging.DEBUG if path in PROBE_PATHS else logging.INFO
        access_log.log(level, "%s %s %d", method, path, status, extra=fields)


def route_template(scope: Scope) -> str | None:
    """The path template of the route that handled the request (``None`` if none matched)."""
    route: Any = scope.get("route")
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    return str(template) if template else None


def _client_ip(scope: Scope) -> str | None:
    client = scope.get("client")
    return str(client[0]) if client else None
