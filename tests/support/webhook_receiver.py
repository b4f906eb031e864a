"""A real webhook receiver on loopback for tests: records every request, answers as told.

It runs a stdlib threading HTTP server in a background thread, so the synchronous
end-to-end tests and the filegate processes they start talk to it over real HTTP. Each
request is recorded (headers, body, time) before it is answered; ``answer`` decides the
answer from the request and how many earlier requests carried the same ``webhook-id``.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Request:
    """One delivery attempt as the receiver saw it."""

    headers: dict[str, str]
    body: str
    at: float
    """``time.monotonic()`` when it arrived."""
    wall: float
    """``time.time()`` when it arrived (to compare with the event's own timestamp)."""

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]

    @property
    def document(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed


@dataclass(frozen=True)
class Answer:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    hang: threading.Event | None = None
    """Wait for this event before answering (a receiver that hangs)."""


Answering = Callable[[Request, int], Answer]
"""(the request, how many earlier attempts had its webhook-id) → the answer."""


def always_ok(request: Request, earlier: int) -> Answer:
    return Answer()


class Receiver:
    """The recorded requests, and the answer policy (which a test may change)."""

    def __init__(self, answer: Answering = always_ok) -> None:
        self.answer = answer
        self.url = ""
        self._requests: list[Request] = []
        self._lock = threading.Lock()
        self.release = threading.Event()
        """Set to let every hanging request finish (the receiver sets it when it stops)."""

    def record(self, request: Request) -> int:
        with self._lock:
            earlier = sum(1 for r in self._requests if r.webhook_id == request.webhook_id)
            self._requests.append(request)
            return earlier

    @property
    def requests(self) -> list[Request]:
        with self._lock:
            return list(self._requests)

    def wait_for(self, done: Callable[[list[Request]], bool], timeout: float = 60) -> list[Request]:
        """Poll until ``done(requests)``; the requests then. Fails after ``timeout``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            requests = self.requests
            if done(requests):
                return requests
            time.sleep(0.05)
        raise AssertionError(f"receiver condition not met in {timeout} s: {self.requests}")


@contextmanager
def running_receiver(answer: Answering = always_ok) -> Iterator[Receiver]:
    """A receiver listening on 127.0.0.1 (``receiver.url``) until the block ends."""
    receiver = Receiver(answer)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(receiver))
    server.daemon_threads = True
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.release.set()
        server.shutdown()
        server.server_close()


def _handler_for(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            body = self.rfile.read(length).decode()
            headers = {name.lower(): value for name, value in self.headers.items()}
            request = Request(headers, body, time.monotonic(), time.time())
            answer = receiver.answer(request, receiver.record(request))
            if answer.hang is not None:
                answer.hang.wait()
            self.send_response(answer.status)
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler
