"""End to end, embedded shape: hostile body framing on the store's PUT, over raw sockets.

Each variant is written byte for byte to the real ``filegate serve`` process (no HTTP
client would send these). Whoever refuses it, uvicorn's parser (httptools/llhttp,
plain-text 400) or filegate's framing check (problem+json ``AMBIGUOUS_FRAMING``), nothing
may be stored: no object, no temporary file, and the file stays registered.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.e2e.flow import auth, register
from tests.e2e.shapes import Embedded
from tests.support import images

pytestmark = pytest.mark.e2e

APP = "app"  # refused by filegate: 400 problem+json AMBIGUOUS_FRAMING
PARSER = "parser"  # refused by llhttp before the app runs: 400 text/plain


@dataclass(frozen=True)
class Variant:
    """Framing headers to send (besides the signed ones) and whether the body is chunked."""

    name: str
    framing: tuple[str, ...]
    chunked_body: bool
    refused_by: str
    version: str = "1.1"


def _variants(size: int) -> list[Variant]:
    n = str(size)
    te = "Transfer-Encoding"
    return [
        Variant("cl-then-te", (f"Content-Length: {n}", f"{te}: chunked"), True, PARSER),
        Variant("te-then-cl", (f"{te}: chunked", f"Content-Length: {n}"), True, PARSER),
        Variant("cl-zero-and-te", ("Content-Length: 0", f"{te}: chunked"), True, PARSER),
        Variant("cl-and-te-uppercase", (f"Content-Length: {n}", f"{te}: CHUNKED"), True, PARSER),
        Variant("cl-conflicting", (f"Content-Length: {n}", "Content-Length: 1"), False, PARSER),
        Variant("cl-list-conflicting", (f"Content-Length: {n}, 1",), False, PARSER),
        Variant("cl-signed-plus", (f"Content-Length: +{n}",), False, PARSER),
        Variant("cl-signed-minus", ("Content-Length: -1",), False, PARSER),
        Variant("cl-hex", (f"Content-Length: 0x{size:x}",), False, PARSER),
        Variant("cl-empty", ("Content-Length:",), False, PARSER),
        Variant("te-gzip-chunked", (f"{te}: gzip, chunked",), True, APP),
        Variant("te-chunked-chunked", (f"{te}: chunked, chunked",), True, PARSER),
        Variant("te-twice", (f"{te}: chunked", f"{te}: chunked"), True, PARSER),
        Variant("te-xchunked", (f"{te}: xchunked",), True, PARSER),
        Variant("te-identity", (f"{te}: identity",), False, PARSER),
        Variant("te-space-before-colon", (f"{te} : chunked",), True, PARSER),
        Variant("te-vertical-tab", (f"{te}: \x0bchunked",), True, PARSER),
        Variant("te-on-http-1.0", (f"{te}: chunked",), True, APP, version="1.0"),
        Variant("cl-twice-equal", (f"Content-Length: {n}", f"Content-Length: {n}"), False, PARSER),
        Variant("cl-list-equal", (f"Content-Length: {n}, {n}",), False, PARSER),
        Variant("te-obs-fold", (f"{te}:\r\n chunked",), True, PARSER),
    ]


def _request(file: dict[str, Any], data: bytes, variant: Variant) -> bytes:
    url = urlsplit(file["upload"]["url"])
    signed = {k: v for k, v in file["upload"]["headers"].items() if k.lower() != "content-length"}
    lines = [
        f"PUT {url.path}?{url.query} HTTP/{variant.version}",
        f"Host: {url.netloc}",
        *(f"{k}: {v}" for k, v in signed.items()),
        *variant.framing,
        "Connection: close",
    ]
    body = f"{len(data):x}\r\n".encode() + data + b"\r\n0\r\n\r\n" if variant.chunked_body else data
    return "\r\n".join(lines).encode("latin-1") + b"\r\n\r\n" + body


def _exchange(base: str, raw: bytes) -> tuple[int, str, bytes]:
    """Send ``raw``; the status, the content type and the body of the answer."""
    url = urlsplit(base)
    with socket.create_connection((url.hostname or "", url.port or 80), timeout=10) as sock:
        sock.sendall(raw)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in header_lines)
    lowered = {k.lower(): v for k, v in headers.items()}
    return int(status_line.split()[1]), lowered.get("content-type", ""), body


def _temporary_files(embedded: Embedded) -> list[str]:
    return [str(p) for p in (embedded.data_dir / "store" / ".tmp").rglob("*") if p.is_file()]


@pytest.mark.parametrize("index", range(len(_variants(1))), ids=[v.name for v in _variants(1)])
def test_hostile_framing_is_refused_and_nothing_is_stored(
    embedded: Embedded, http: httpx.Client, index: int
) -> None:
    data = images.jpeg_bytes()
    alice = embedded.token(user="alice")
    file = register(http, embedded.url, alice, data, sha256=None)
    variant = _variants(len(data))[index]

    status, content_type, body = _exchange(embedded.url, _request(file, data, variant))

    assert status == 400, body
    if variant.refused_by == APP:
        assert content_type == "application/problem+json"
        assert b'"code":"AMBIGUOUS_FRAMING"' in body
    else:
        assert content_type.startswith("text/plain"), (content_type, body)
    assert embedded.stored_objects(file["id"]) == []
    assert _temporary_files(embedded) == []
    got = http.get(f"{embedded.url}/v1/files/{file['id']}", headers=auth(alice))
    assert got.json()["state"] == "registered"
