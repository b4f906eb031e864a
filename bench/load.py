"""Load generators: pools of keep-alive HTTP/1.1 connections posting JSON in a closed loop.

Two kinds, used the same way: :class:`HttpxPool` (one ``httpx.AsyncClient`` per
connection, what a Python user of the API runs) and :class:`RawPool` (requests written
as bytes over bare asyncio streams). httpx spends about a millisecond of CPU per request
here, so against a fast server on these two-core machines it is httpx that sets the pace;
the bare client costs well under a tenth of that, and comparing the two shows when.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Protocol, Self
from urllib.parse import urlsplit

import httpx

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


Sender = Callable[[JsonPost], Awaitable[None]]


class Pool(Protocol):
    """Open connections to one server, each driven by its own sender."""

    @property
    def senders(self) -> list[Sender]: ...


class UnexpectedAnswer(RuntimeError):
    """The server answered another status than the benchmark expects: the figure is void."""


class HttpxPool:
    """``size`` ``httpx.AsyncClient`` instances, each holding one keep-alive connection."""

    def __init__(self, base_url: str, size: int) -> None:
        self._clients = [
            httpx.AsyncClient(base_url=base_url, timeout=_TIMEOUT_SECONDS) for _ in range(size)
        ]

    @property
    def senders(self) -> list[Sender]:
        return [_httpx_sender(client) for client in self._clients]

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await asyncio.gather(*(client.aclose() for client in self._clients))


def _httpx_sender(client: httpx.AsyncClient) -> Sender:
    async def send(request: JsonPost) -> None:
        headers = {"Content-Type": "application/json", **dict(request.headers)}
        answer = await client.post(request.path, content=request.body, headers=headers)
        if answer.status_code != request.expected_status:
            raise UnexpectedAnswer(f"{request.path}: {answer.status_code} {answer.text[:300]}")

    return send


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
    async def send(request: JsonPost) -> None:
        writer.write(_encoded(request, host))
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        body = await reader.readexactly(_content_length(head))
        status = int(head[9:12])
        if status != request.expected_status:
            raise UnexpectedAnswer(f"{request.path}: {status} {body[:300]!r}")

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


async def run_for(senders: Sequence[Sender], request: JsonPost, seconds: float) -> Run:
    """Every sender repeats ``request`` back to back until ``seconds`` have passed."""
    deadline = time.perf_counter() + seconds

    def next_request() -> JsonPost | None:
        return request if time.perf_counter() < deadline else None

    return await _closed_loop(senders, next_request)


async def run_all(senders: Sequence[Sender], requests: Iterable[JsonPost]) -> Run:
    """Send each of ``requests`` once; each sender takes the next one as soon as it is free."""
    pending = iter(requests)
    return await _closed_loop(senders, lambda: next(pending, None))


async def _closed_loop(
    senders: Sequence[Sender], next_request: Callable[[], JsonPost | None]
) -> Run:
    answered = 0

    async def work(send: Sender) -> None:
        nonlocal answered
        while (request := next_request()) is not None:
            await send(request)
            answered += 1

    started = time.perf_counter()
    await asyncio.gather(*(work(send) for send in senders))
    return Run(answered, time.perf_counter() - started)
