"""The load generator: a pool of keep-alive HTTP/1.1 connections posting JSON in a closed loop.

Requests are written as bytes over bare asyncio streams (:class:`RawPool`). An httpx
client spends about a millisecond of CPU per request here, so against a fast server on
these two-core machines it would set the pace itself; this client costs well under a
tenth of that, so the servers do.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlsplit

from bench.harness import per_second

_TIMEOUT_SECONDS = 120.0


@dataclass(frozen=True)
class JsonPost:
    """One request to send: ``path``, a JSON ``body``, extra headers, the expected status."""

    path: str
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()
    expected_status: int = 201

    @classmethod
    def of(
        cls, path: str, body: Any, headers: Mapping[str, str] | None = None, expected: int = 201
    ) -> JsonPost:
        return cls(path, json.dumps(body).encode(), tuple((headers or {}).items()), expected)


@dataclass(frozen=True)
class Run:
    """What one closed-loop run did: requests answered, in how many wall-clock seconds."""

    requests: int
    seconds: float

    @property
    def rate(self) -> float:
        return per_second(self.requests, self.seconds)


Sender = Callable[[JsonPost], Awaitable[bytes]]
"""Sends one request on its connection; the body of the expected answer."""


class UnexpectedAnswer(RuntimeError):
    """The server answered another status than the benchmark expects: the figure is void."""


class RawPool:
    """``size`` bare HTTP/1.1 keep-alive connections; only ``Content-Length`` answers."""

    def __init__(self, base_url: str, size: int) -> None:
        parts = urlsplit(base_url)
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or 80
        self._size = size
        self._streams: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    @property
    def senders(self) -> list[Sender]:
        authority = f"{self._host}:{self._port}"
        return [_raw_sender(reader, writer, authority) for reader, writer in self._streams]

    async def __aenter__(self) -> Self:
        for _ in range(self._size):
            self._streams.append(await asyncio.open_connection(self._host, self._port))
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        for _, writer in self._streams:
            writer.close()
        await asyncio.gather(*(w.wait_closed() for _, w in self._streams), return_exceptions=True)


def _raw_sender(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str) -> Sender:
    async def send(request: JsonPost) -> bytes:
        async with asyncio.timeout(_TIMEOUT_SECONDS):  # a stalled server fails the run
            writer.write(_encoded(request, host))
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
            body = await reader.readexactly(_content_length(head))
        status = int(head[9:12])
        if status != request.expected_status:
            raise UnexpectedAnswer(f"{request.path}: {status} {body[:300]!r}")
        return body

    return send


def _encoded(request: JsonPost, host: str) -> bytes:
    lines = [
        f"POST {request.path} HTTP/1.1",
        f"Host: {host}",
        "Content-Type: application/json",
        f"Content-Length: {len(request.body)}",
        *(f"{name}: {value}" for name, value in request.headers),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + request.body


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    raise UnexpectedAnswer(f"an answer without Content-Length: {head[:300]!r}")


async def run_for(senders: Sequence[Sender], requests: Sequence[JsonPost], seconds: float) -> Run:
    """Sender ``i`` repeats ``requests[i]`` back to back until ``seconds`` have passed."""
    if len(senders) != len(requests):
        raise ValueError(f"{len(senders)} senders but {len(requests)} requests")
    deadline = time.perf_counter() + seconds

    async def work(send: Sender, request: JsonPost) -> int:
        answered = 0
        while time.perf_counter() < deadline:
            await send(request)
            answered += 1
        return answered

    started = time.perf_counter()
    counts = await asyncio.gather(*map(work, senders, requests))
    return Run(sum(counts), time.perf_counter() - started)
