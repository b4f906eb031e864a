"""A load generator for large PUTs: one thread per connection, blocking sockets.

``sendall`` of a big body releases the GIL for the whole copy into the kernel, so eight
threads cost the benchmark process little more than the copies themselves (asyncio's
transport would copy each body into its own buffer first).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import BinaryIO
from urllib.parse import urlsplit

from bench.harness import per_second
from bench.load import UnexpectedAnswer

_TIMEOUT_SECONDS = 120.0


@dataclass(frozen=True)
class Put:
    """One request: ``target`` (path and query), its headers, the status that means success."""

    target: str
    headers: tuple[tuple[str, str], ...]
    expected_status: int


def put_all(base_url: str, connections: Sequence[Sequence[Put]], body: bytes) -> float:
    """Send every PUT with ``body``, each inner sequence back to back on its own keep-alive
    connection, all connections at once; return the megabytes (10⁶ B) sent per second."""
    parts = urlsplit(base_url)
    address = (parts.hostname or "127.0.0.1", parts.port or 80)
    sent = sum(len(puts) for puts in connections) * len(body) / 1e6
    with ThreadPoolExecutor(len(connections)) as pool:
        started = time.perf_counter()
        for done in [pool.submit(_send_all, address, puts, body) for puts in connections]:
            done.result()
        return per_second(sent, time.perf_counter() - started)


def _send_all(address: tuple[str, int], puts: Sequence[Put], body: bytes) -> None:
    with socket.create_connection(address, timeout=_TIMEOUT_SECONDS) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with sock.makefile("rb") as answers:
            for put in puts:
                sock.sendall(_head(put, address, len(body)))
                sock.sendall(body)
                _expect(answers, put)


def _head(put: Put, address: tuple[str, int], length: int) -> bytes:
    lines = [
        f"PUT {put.target} HTTP/1.1",
        f"Host: {address[0]}:{address[1]}",
        f"Content-Length: {length}",
        *(f"{name}: {value}" for name, value in put.headers),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _expect(answers: BinaryIO, put: Put) -> None:
    """Read one answer (``Content-Length`` framed) and check its status."""
    status_line = answers.readline()
    length = 0
    while (line := answers.readline()) not in (b"\r\n", b""):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    content = answers.read(length)
    status = int(status_line[9:12] or 0)
    if status != put.expected_status:
        raise UnexpectedAnswer(f"PUT {put.target[:80]}: {status} {content[:300]!r}")
