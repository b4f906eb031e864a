"""A loopback HTTP proxy in front of a real server that fails chosen requests on purpose.

Tests point a client (and the server's ``FILEGATE_PUBLIC_URL``, so that signed URLs come
through it too) at the proxy, then script faults: answer with a status instead of the
server, drop the connection without answering (before or after the server handled the
request), or corrupt the body of the server's answer. Every request is recorded.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import httpx

_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


@dataclass(frozen=True)
class Fault:
    """What to do instead of (or on top of) forwarding one request.

    ``status``: answer it without asking the server. ``drop``: close the connection
    without an answer; with ``after_forwarding``, only once the server has handled it.
    ``corrupt``: forward it, then flip a byte of the server's answer.
    """

    status: int | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    drop: bool = False
    after_forwarding: bool = False
    corrupt: bool = False


@dataclass
class _Rule:
    method: str
    path_prefix: str
    fault: Fault
    remaining: int


class FaultProxy:
    """Forwards to ``upstream`` (set it once the server runs); see :meth:`inject`."""

    def __init__(self) -> None:
        self.upstream: str | None = None
        self.requests: list[tuple[str, str]] = []
        self._rules: list[_Rule] = []
        self._lock = threading.Lock()
        self._http = httpx.Client(timeout=60)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.proxy = self  # type: ignore[attr-defined]
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def inject(self, method: str, path_prefix: str, fault: Fault, times: int = 1) -> None:
        """Apply ``fault`` to the next ``times`` requests with this method and path prefix."""
        with self._lock:
            self._rules.append(_Rule(method, path_prefix, fault, times))

    def reset(self) -> None:
        """Forget every rule and every recorded request."""
        with self._lock:
            self._rules.clear()
            self.requests.clear()

    def seen(self, method: str, path_prefix: str) -> int:
        """How many requests with this method and path prefix came through."""
        with self._lock:
            return sum(1 for m, p in self.requests if m == method and p.startswith(path_prefix))

    def _take(self, method: str, path: str) -> Fault | None:
        with self._lock:
            self.requests.append((method, path))
            for rule in self._rules:
                if rule.method == method and path.startswith(rule.path_prefix):
                    rule.remaining -= 1
                    if rule.remaining == 0:
                        self._rules.remove(rule)
                    return rule.fault
        return None

    def _forward(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes
    ) -> httpx.Response:
        assert self.upstream is not None, "set FaultProxy.upstream first"
        kept = {k: v for k, v in headers.items() if k.lower() not in _HOP_BY_HOP}
        return self._http.request(method, self.upstream + target, headers=kept, content=body)

    @contextmanager
    def running(self) -> Iterator[FaultProxy]:
        thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._server.shutdown()
            self._server.server_close()
            self._http.close()
            thread.join()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._handle()

    do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = do_GET

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _handle(self) -> None:
        proxy: FaultProxy = self.server.proxy  # type: ignore[attr-defined]
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        fault = proxy._take(self.command, urlsplit(self.path).path) or Fault()
        if fault.drop and not fault.after_forwarding:
            self._drop()
            return
        if fault.status is not None:
            self._answer(fault.status, fault.headers, fault.body)
            return
        response = proxy._forward(self.command, self.path, dict(self.headers.items()), body)
        if fault.drop:
            self._drop()
            return
        content = _corrupted(response.content) if fault.corrupt else response.content
        self._answer(response.status_code, response.headers, content)

    def _answer(self, status: int, headers: Mapping[str, str], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            if name.lower() not in _HOP_BY_HOP | {"content-encoding", "date", "server"}:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _drop(self) -> None:
        self.close_connection = True
        self.connection.shutdown(socket.SHUT_RDWR)


def _corrupted(content: bytes) -> bytes:
    if not content:
        return b"x"
    return content[:-1] + bytes([content[-1] ^ 0xFF])
