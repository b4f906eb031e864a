"""The local store over real HTTP: uvicorn on loopback, httpx (and raw sockets) against it."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
import struct
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from filegate.adapters.local.metadata import ATTRIBUTE
from filegate.adapters.local.store import InvalidObjectKey, LocalObjectStore
from filegate.adapters.local.uploading import BLOCK_BYTES
from filegate.adapters.local.url_signing import UrlGrant, UrlSigner
from filegate.domain.clock import ManualClock
from filegate.domain.errors import ErrorCode, FilegateError
from filegate.domain.models import ObjectInfo, SignedRequest, UploadSpec
from filegate.http.problems import install_problem_handlers
from filegate.http.routes.store import store_router

PUBLIC_URL = "http://files.example.test"
CURRENT_KEY = b"current-signing-key-0123456789"
OTHER_KEY = b"another-signing-key-0123456789"
TTL = timedelta(minutes=5)
PNG = "image/png"


@dataclass
class RecordingGate:
    """A fake ``UploadGate``: records what it admits and commits, refuses when told to."""

    admitted: list[str] = field(default_factory=list)
    commits: list[tuple[str, ObjectInfo]] = field(default_factory=list)
    refuse_admit: FilegateError | None = None
    refuse_commit: FilegateError | None = None

    async def admit(self, key: str) -> None:
        if self.refuse_admit is not None:
            raise self.refuse_admit
        self.admitted.append(key)

    async def commit(self, key: str, info: ObjectInfo) -> None:
        if self.refuse_commit is not None:
            raise self.refuse_commit
        self.commits.append((key, info))


@dataclass
class Harness:
    store: LocalObjectStore
    signer: UrlSigner
    gate: RecordingGate
    clock: ManualClock
    root: Path
    port: int
    http: httpx.Client


def _serve_in_thread(app: FastAPI) -> tuple[uvicorn.Server, threading.Thread, int]:
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    port: int = server.servers[0].sockets[0].getsockname()[1]
    return server, thread, port


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    root = tmp_path_factory.mktemp("local-store") / "objects"
    clock = ManualClock()
    signer = UrlSigner({"k1": CURRENT_KEY, "k0": OTHER_KEY}, "k1")
    store = LocalObjectStore(root, PUBLIC_URL, signer, clock)
    gate = RecordingGate()
    app = FastAPI()
    install_problem_handlers(app)
    app.include_router(store_router(store, gate))
    uv, thread, port = _serve_in_thread(app)
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
        yield Harness(store, signer, gate, clock, root, port, http)
    uv.should_exit = True
    thread.join(10)


@pytest.fixture
def h(server: Harness) -> Harness:
    """The shared server with a fresh gate and an empty temporary folder for this test."""
    for leftover in server.store.temp_dir.iterdir():  # one test's leak must not fail the next
        leftover.unlink()
    server.gate.admitted.clear()
    server.gate.commits.clear()
    server.gate.refuse_admit = server.gate.refuse_commit = None
    return server


# -- helpers ---------------------------------------------------------------------------------


def new_key() -> str:
    return f"{uuid.uuid4().hex[:12]}/{uuid.uuid4().hex}"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def target(url: str) -> str:
    """Path and query of a signed URL, to send to the test server."""
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def with_query(url: str, **changes: str) -> str:
    pairs = dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))
    pairs.update(changes)
    return f"{urlsplit(url).path}?{urlencode(pairs, quote_via=quote)}"


def sign_put(h: Harness, key: str, data: bytes, content_type: str = PNG) -> SignedRequest:
    return h.store.sign_upload(key, UploadSpec(len(data), content_type, sha256(data)), TTL)


def put(
    h: Harness, signed: SignedRequest, content: bytes | Iterator[bytes], **headers: str
) -> httpx.Response:
    sent = {"Content-Type": signed.headers["Content-Type"], **headers}
    return h.http.put(target(signed.url), content=content, headers=sent)


def upload(h: Harness, key: str, data: bytes) -> None:
    response = put(h, sign_put(h, key, data), data)
    assert response.status_code == 200, response.text


def get(h: Harness, key: str, filename: str = "photo.png", **headers: str) -> httpx.Response:
    signed = h.store.sign_download(key, filename, PNG, TTL)
    return h.http.get(target(signed.url), headers=headers)


def assert_problem(response: httpx.Response, status: int, code: ErrorCode) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == code.value


def assert_nothing_left(h: Harness, key: str) -> None:
    path = h.store.path_of(key)
    assert not path.exists()
    assert not path.with_name(f".{path.name}.sha256").exists()
    assert list(h.store.temp_dir.iterdir()) == []
    assert h.gate.commits == []


def chunks(*parts: bytes) -> Iterator[bytes]:
    """A body httpx must send chunked (no Content-Length)."""
    yield from parts


def wait_until(condition: Callable[[], bool], seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return False


def raw_request(port: int, head: str, body: bytes = b"") -> tuple[int, dict[str, object]]:
    """Send bytes exactly as given (httpx would normalise ``..``); return status and JSON."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(head.encode() + body)
        return read_response(sock)


def read_response(sock: socket.socket) -> tuple[int, dict[str, object]]:
    """Status and JSON body of one response with a Content-Length (problems have one)."""
    received = b""
    while b"\r\n\r\n" not in received:
        received += sock.recv(65536) or b"\r\n\r\n"
    head, _, payload = received.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    fields = dict(line.lower().split(": ", 1) for line in lines[1:])
    while len(payload) < int(fields.get("content-length", "0")):
        payload += sock.recv(65536)
    return int(lines[0].split()[1]), json.loads(payload) if payload else {}


# -- uploads ---------------------------------------------------------------------------------


def test_signed_put_stores_the_bytes_and_a_signed_get_returns_them(h: Harness) -> None:
    key, data = new_key(), b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8
    signed = sign_put(h, key, data)

    response = put(h, signed, data)

    assert signed.url.startswith(f"{PUBLIC_URL}/store/{key}?")
    assert signed.headers == {"Content-Type": PNG, "Content-Length": str(len(data))}
    assert response.status_code == 200
    assert response.headers["etag"] == f'"{sha256(data)}"'
    assert response.content == b""
    assert h.gate.admitted == [key]
    assert h.gate.commits == [(key, ObjectInfo(key, len(data), sha256(data)))]
    assert get(h, key).content == data
    assert list(h.store.temp_dir.iterdir()) == []


def test_chunked_upload_of_several_mebibytes_round_trips(h: Harness) -> None:
    key, data = new_key(), hashlib.sha512(b"x").digest() * (3 * (1 << 20) // 64 + 3)
    signed = sign_put(h, key, data)
    parts = [data[i : i + 100_000] for i in range(0, len(data), 100_000)]

    response = put(h, signed, chunks(*parts))

    assert response.status_code == 200, response.text
    downloaded = get(h, key)
    assert downloaded.content == data
    assert downloaded.headers["etag"] == f'"{sha256(data)}"'


def test_an_empty_body_stores_an_empty_object(h: Harness) -> None:
    key = new_key()

    upload(h, key, b"")

    assert h.store.path_of(key).read_bytes() == b""
    assert h.gate.commits == [(key, ObjectInfo(key, 0, sha256(b"")))]


def test_a_body_of_exactly_one_block_round_trips(h: Harness) -> None:
    key, data = new_key(), os.urandom(BLOCK_BYTES)

    upload(h, key, data)

    assert get(h, key).content == data
    assert h.gate.commits == [(key, ObjectInfo(key, len(data), sha256(data)))]


def test_upload_without_declared_sha256_is_accepted(h: Harness) -> None:
    key, data = new_key(), b"no checksum declared"
    signed = h.store.sign_upload(key, UploadSpec(len(data), PNG, None), TTL)

    assert put(h, signed, data).status_code == 200
    assert get(h, key).content == data


def test_tampered_signature_is_refused(h: Harness) -> None:
    key, data = new_key(), b"payload"
    signed = sign_put(h, key, data)
    sig = dict(parse_qsl(urlsplit(signed.url).query))["sig"]
    tampered = ("B" if sig[0] == "A" else "A") + sig[1:]

    response = h.http.put(
        with_query(signed.url, sig=tampered), content=data, headers={"Content-Type": PNG}
    )

    assert_problem(response, 403, ErrorCode.SIGNATURE_MISMATCH)
    assert_nothing_left(h, key)
    assert h.gate.admitted == []


@pytest.mark.parametrize("kid", ["k0", "k9"], ids=["other-known-key", "unknown-key"])
def test_wrong_key_id_is_refused(h: Harness, kid: str) -> None:
    key, data = new_key(), b"payload"
    signed = sign_put(h, key, data)

    response = h.http.put(
        with_query(signed.url, kid=kid), content=data, headers={"Content-Type": PNG}
    )

    assert_problem(response, 403, ErrorCode.SIGNATURE_MISMATCH)
    assert_nothing_left(h, key)


def test_url_signed_for_another_key_is_refused(h: Harness) -> None:
    key, other, data = new_key(), new_key(), b"payload"
    query = urlsplit(sign_put(h, key, data).url).query

    response = h.http.put(f"/store/{other}?{query}", content=data, headers={"Content-Type": PNG})

    assert_problem(response, 403, ErrorCode.SIGNATURE_MISMATCH)
    assert_nothing_left(h, other)
    assert_nothing_left(h, key)


@pytest.mark.parametrize("query", ["", "?", "?sig=&kid=k1", "?expires=soon&kid=k1&sig=x"])
def test_missing_or_garbled_query_is_refused(h: Harness, query: str) -> None:
    key = new_key()

    response = h.http.put(f"/store/{key}{query}", content=b"x", headers={"Content-Type": PNG})

    assert_problem(response, 403, ErrorCode.SIGNATURE_MISMATCH)
    assert_nothing_left(h, key)


def test_expired_url_is_refused(h: Harness) -> None:
    key, data = new_key(), b"payload"
    signed = sign_put(h, key, data)
    h.clock.advance(TTL)

    response = put(h, signed, data)

    assert_problem(response, 403, ErrorCode.URL_EXPIRED)
    assert_nothing_left(h, key)


def test_download_url_cannot_be_used_to_upload(h: Harness) -> None:
    key = new_key()
    signed = h.store.sign_download(key, "a.png", PNG, TTL)

    response = h.http.put(target(signed.url), content=b"x", headers={"Content-Type": PNG})

    assert_problem(response, 403, ErrorCode.SIGNATURE_MISMATCH)
    assert_nothing_left(h, key)


def test_upload_url_cannot_be_used_to_download(h: Harness) -> None:
    key, data = new_key(), b"payload"
    signed = sign_put(h, key, data)
    upload(h, key, data)

    assert_problem(h.http.get(target(signed.url)), 403, ErrorCode.SIGNATURE_MISMATCH)


def test_content_type_other_than_signed_is_refused(h: Harness) -> None:
    key, data = new_key(), b"<svg onload=alert(1)>"
    signed = sign_put(h, key, data)

    response = put(h, signed, data, **{"Content-Type": "image/svg+xml"})

    assert_problem(response, 403, ErrorCode.SIGNATURE_MISMATCH)
    assert_nothing_left(h, key)


def test_chunked_body_longer_than_signed_is_stopped(h: Harness) -> None:
    key, data = new_key(), b"0123456789"
    signed = sign_put(h, key, data)

    response = put(h, signed, chunks(data, b"and more", b"and more"))

    assert "content-length" not in response.request.headers
    assert_problem(response, 400, ErrorCode.LENGTH_MISMATCH)
    assert_nothing_left(h, key)


def test_reading_stops_as_soon_as_the_body_passes_the_signed_length(h: Harness) -> None:
    key, data = new_key(), b"0123456789"
    signed = sign_put(h, key, data)
    head = (
        f"PUT {target(signed.url)} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Content-Type: {PNG}\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", h.port), timeout=5) as sock:
        # One chunk past the length, and the body never ends: only an early stop answers.
        sock.sendall(head.encode() + b"b\r\n" + data + b"!\r\n")
        status, problem = read_response(sock)

    assert (status, problem["code"]) == (400, "LENGTH_MISMATCH")
    assert_nothing_left(h, key)


def test_chunked_body_shorter_than_signed_is_refused(h: Harness) -> None:
    key, data = new_key(), b"0123456789"
    signed = sign_put(h, key, data)

    response = put(h, signed, chunks(data[:4], data[4:6]))

    assert "content-length" not in response.request.headers
    assert_problem(response, 400, ErrorCode.LENGTH_MISMATCH)
    assert_nothing_left(h, key)


def test_content_length_other_than_signed_is_refused(h: Harness) -> None:
    key, data = new_key(), b"0123456789"
    signed = sign_put(h, key, data)

    response = put(h, signed, data[:5])

    assert response.request.headers["content-length"] == "5"
    assert_problem(response, 400, ErrorCode.LENGTH_MISMATCH)
    assert_nothing_left(h, key)


def test_bytes_with_another_sha256_are_refused(h: Harness) -> None:
    key, data = new_key(), b"0123456789"
    signed = sign_put(h, key, data)

    response = put(h, signed, b"9876543210")

    assert_problem(response, 400, ErrorCode.CHECKSUM_MISMATCH)
    assert_nothing_left(h, key)


def test_second_put_is_refused_and_the_first_object_is_intact(h: Harness) -> None:
    key, first = new_key(), b"first bytes"
    upload(h, key, first)
    second = b"other bytes"

    response = put(h, sign_put(h, key, second), second)

    assert_problem(response, 409, ErrorCode.ALREADY_UPLOADED)
    assert get(h, key).content == first
    assert len(h.gate.commits) == 1
    assert list(h.store.temp_dir.iterdir()) == []


def test_gate_refusing_admission_stores_nothing(h: Harness) -> None:
    key, data = new_key(), b"payload"
    h.gate.refuse_admit = FilegateError(ErrorCode.INVALID_STATE, "not waiting for bytes")

    response = put(h, sign_put(h, key, data), data)

    assert_problem(response, 409, ErrorCode.INVALID_STATE)
    assert_nothing_left(h, key)


def test_gate_refusing_commit_removes_the_object(h: Harness) -> None:
    key, data = new_key(), b"payload"
    h.gate.refuse_commit = FilegateError(ErrorCode.INVALID_STATE, "expired meanwhile")

    response = put(h, sign_put(h, key, data), data)

    assert_problem(response, 409, ErrorCode.INVALID_STATE)
    assert h.gate.admitted == [key]
    assert_nothing_left(h, key)
    assert_problem(get(h, key), 404, ErrorCode.NOT_FOUND)


def test_client_disconnecting_mid_body_leaves_no_temporary_file(h: Harness) -> None:
    key, data = new_key(), b"x" * (3 * BLOCK_BYTES)  # the first block is on disk mid-body
    signed = sign_put(h, key, data)
    head = (
        f"PUT {target(signed.url)} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Content-Type: {PNG}\r\nContent-Length: {len(data)}\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", h.port), timeout=5) as sock:
        sock.sendall(head.encode() + data[: 2 * BLOCK_BYTES])
        assert wait_until(lambda: any(h.store.temp_dir.iterdir())), "upload never started"

    assert wait_until(lambda: not any(h.store.temp_dir.iterdir())), "temporary file left"
    assert_nothing_left(h, key)


# -- downloads -------------------------------------------------------------------------------


@pytest.fixture
def stored(h: Harness) -> tuple[str, bytes]:
    key, data = new_key(), bytes(range(100))
    upload(h, key, data)
    return key, data


def test_download_headers(h: Harness, stored: tuple[str, bytes]) -> None:
    key, data = stored
    signed = h.store.sign_download(key, "photo.png", PNG, TTL)
    h.clock.advance(timedelta(seconds=100))

    response = h.http.get(target(signed.url))

    assert response.status_code == 200
    assert response.headers["content-type"] == PNG
    assert response.headers["content-length"] == "100"
    assert response.headers["etag"] == f'"{sha256(data)}"'
    assert response.headers["accept-ranges"] == "bytes"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "private, max-age=200"
    assert response.headers["content-disposition"] == (
        "attachment; filename=\"photo.png\"; filename*=UTF-8''photo.png"
    )


def test_head_has_the_headers_and_no_body(h: Harness, stored: tuple[str, bytes]) -> None:
    key, _ = stored
    signed = h.store.sign_download(key, "photo.png", PNG, TTL)

    response = h.http.head(target(signed.url))

    assert response.status_code == 200
    assert response.headers["content-length"] == "100"
    assert response.content == b""


@pytest.mark.parametrize(
    ("header", "start", "stop"),
    [
        ("bytes=10-19", 10, 20),
        ("bytes=95-", 95, 100),
        ("bytes=-7", 93, 100),
        ("bytes=90-500", 90, 100),
    ],
    ids=["closed", "open", "suffix", "clamped"],
)
def test_range_gets_206_with_exact_bytes(
    h: Harness, stored: tuple[str, bytes], header: str, start: int, stop: int
) -> None:
    key, data = stored

    response = get(h, key, Range=header)

    assert response.status_code == 206
    assert response.headers["content-range"] == f"bytes {start}-{stop - 1}/100"
    assert response.headers["content-length"] == str(stop - start)
    assert response.content == data[start:stop]


@pytest.mark.parametrize("header", ["bytes=100-", "bytes=250-300", "bytes=-0"])
def test_unsatisfiable_range_is_416(h: Harness, stored: tuple[str, bytes], header: str) -> None:
    key, _ = stored

    response = get(h, key, Range=header)

    assert_problem(response, 416, ErrorCode.RANGE_NOT_SATISFIABLE)
    assert response.headers["content-range"] == "bytes */100"


@pytest.mark.parametrize("header", ["bytes=0-1,5-6", "items=0-5", "bytes=9-3", "bytes=x-"])
def test_multi_or_malformed_range_serves_everything(
    h: Harness, stored: tuple[str, bytes], header: str
) -> None:
    key, data = stored

    response = get(h, key, Range=header)

    assert response.status_code == 200
    assert response.content == data


def test_stale_if_range_serves_everything(h: Harness, stored: tuple[str, bytes]) -> None:
    key, data = stored

    response = get(h, key, Range="bytes=0-9", **{"If-Range": '"stale"'})

    assert response.status_code == 200
    assert response.content == data


def test_if_none_match_with_the_etag_is_304(h: Harness, stored: tuple[str, bytes]) -> None:
    key, data = stored

    response = get(h, key, **{"If-None-Match": f'"other", W/"{sha256(data)}"'})

    assert response.status_code == 304
    assert response.content == b""
    assert response.headers["etag"] == f'"{sha256(data)}"'


def test_content_disposition_of_a_nasty_unicode_filename(
    h: Harness, stored: tuple[str, bytes]
) -> None:
    key, data = stored

    response = get(h, key, filename='../../évil "name"\u202e\r\n写真.png')

    assert response.content == data
    assert response.headers["content-disposition"] == (
        'attachment; filename="evil name__.png"; '
        "filename*=UTF-8''%C3%A9vil%20name%E5%86%99%E7%9C%9F.png"
    )


def test_download_of_a_missing_object_is_404(h: Harness) -> None:
    assert_problem(get(h, new_key()), 404, ErrorCode.NOT_FOUND)


def test_expired_download_url_is_refused(h: Harness, stored: tuple[str, bytes]) -> None:
    key, _ = stored
    signed = h.store.sign_download(key, "photo.png", PNG, TTL)
    h.clock.advance(TTL + timedelta(seconds=1))

    assert_problem(h.http.get(target(signed.url)), 403, ErrorCode.URL_EXPIRED)


def test_tampered_download_filename_is_refused(h: Harness, stored: tuple[str, bytes]) -> None:
    key, _ = stored
    signed = h.store.sign_download(key, "photo.png", PNG, TTL)

    response = h.http.get(with_query(signed.url, filename="evil.html", type="text/html"))

    assert_problem(response, 403, ErrorCode.SIGNATURE_MISMATCH)


# -- keys that try to leave the store --------------------------------------------------------


def forged_put_query(h: Harness, key: str, data: bytes) -> str:
    """A query validly signed for ``key`` (the store itself never signs such keys)."""
    grant = UrlGrant("PUT", key, h.clock.now() + TTL, PNG, len(data), sha256(data))
    return urlencode(h.signer.sign(grant), quote_via=quote)


def forged_get_query(h: Harness, key: str) -> str:
    grant = UrlGrant("GET", key, h.clock.now() + TTL, "text/plain", filename="loot.txt")
    return urlencode(h.signer.sign(grant), quote_via=quote)


def test_dot_dot_key_is_refused_without_writing_outside(h: Harness) -> None:
    data = b"escape"
    query = forged_put_query(h, "../escaped", data)
    head = (
        f"PUT /store/../escaped?{query} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        f"Content-Type: {PNG}\r\nContent-Length: {len(data)}\r\n\r\n"
    )

    status, body = raw_request(h.port, head, data)

    assert (status, body["code"]) == (403, "SIGNATURE_MISMATCH")
    assert not (h.root.parent / "escaped").exists()
    assert h.gate.admitted == []


def test_percent_encoded_dot_dot_key_is_refused_without_writing_outside(h: Harness) -> None:
    data = b"escape"
    query = forged_put_query(h, "../escaped-too", data)

    response = h.http.put(
        f"/store/%2e%2e/escaped-too?{query}", content=data, headers={"Content-Type": PNG}
    )

    assert_problem(response, 403, ErrorCode.SIGNATURE_MISMATCH)
    assert not (h.root.parent / "escaped-too").exists()
    assert h.gate.admitted == []


def test_absolute_key_is_refused_without_writing_outside(h: Harness) -> None:
    outside = h.root.parent / "absolute-escape"
    data = b"escape"
    query = forged_put_query(h, str(outside), data)

    response = h.http.put(f"/store/{outside}?{query}", content=data, headers={"Content-Type": PNG})
    read_back = h.http.get(f"/store//etc/passwd?{forged_get_query(h, '/etc/passwd')}")

    assert_problem(response, 403, ErrorCode.SIGNATURE_MISMATCH)
    assert_problem(read_back, 403, ErrorCode.SIGNATURE_MISMATCH)
    assert not outside.exists()


# -- the adapter itself ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    [
        "",
        "../x",
        "a/../../x",
        "/etc/passwd",
        "a//b",
        "a/./b",
        ".tmp/x",
        "a/.b.sha256",
        "a\\b",
        "a\x00b",
        "a\nb",
        "a\x1fb",
        "a\x7fb",
        "a/",
    ],
)
def test_unsafe_keys_are_refused_before_any_file_is_touched(h: Harness, key: str) -> None:
    with pytest.raises(InvalidObjectKey):
        h.store.path_of(key)
    with pytest.raises(InvalidObjectKey):
        h.store.sign_upload(key, UploadSpec(1, PNG, None), TTL)


def test_a_key_through_a_link_to_outside_the_store_is_refused(h: Harness, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    folder = uuid.uuid4().hex[:12]
    (h.root / folder).symlink_to(outside, target_is_directory=True)
    key = f"{folder}/{uuid.uuid4().hex}"

    with pytest.raises(InvalidObjectKey):
        h.store.path_of(key)
    data = b"must not escape"
    # Refused before the body is read, so the server drops the connection: not the shared one.
    response = put(h, sign_put(h, key, data), data, Connection="close")

    assert response.status_code >= 400
    assert list(outside.iterdir()) == []
    assert h.gate.commits == []


def test_a_key_through_a_link_inside_the_store_resolves_to_its_target(h: Harness) -> None:
    target_folder, linked_folder = uuid.uuid4().hex[:12], uuid.uuid4().hex[:12]
    (h.root / target_folder).mkdir()
    (h.root / linked_folder).symlink_to(h.root / target_folder, target_is_directory=True)
    name = uuid.uuid4().hex

    assert h.store.path_of(f"{linked_folder}/{name}") == h.root.resolve() / target_folder / name


def takes_attributes(folder: Path) -> bool:
    """Whether the filesystem under ``folder`` stores user extended attributes."""
    probe = folder / ".probe"
    probe.touch()
    try:
        os.setxattr(probe, ATTRIBUTE, b"x")
    except (OSError, AttributeError):
        return False
    finally:
        probe.unlink()
    return True


def recorded_sha256(path: Path) -> str:
    """The SHA-256 the store recorded for the object file: its attribute, else its sidecar."""
    if takes_attributes(path.parent):
        return os.getxattr(path, ATTRIBUTE)[:32].hex()
    return path.with_name(f".{path.name}.sha256").read_text().split()[0]


def test_an_upload_records_its_sha256_on_the_object_itself(h: Harness) -> None:
    if not takes_attributes(h.root):
        pytest.skip("this filesystem stores no user extended attributes")
    key, data = new_key(), b"recorded"
    upload(h, key, data)
    path = h.store.path_of(key)

    digest, size, mtime_ns = struct.unpack("<32sQQ", os.getxattr(path, ATTRIBUTE))
    assert (digest.hex(), size, mtime_ns) == (sha256(data), len(data), path.stat().st_mtime_ns)
    assert not path.with_name(f".{path.name}.sha256").exists()


async def test_head_rehashes_an_object_whose_record_is_missing_or_stale(h: Harness) -> None:
    key, data = new_key(), b"record me"
    upload(h, key, data)
    path = h.store.path_of(key)
    sidecar = path.with_name(f".{path.name}.sha256")
    expected = ObjectInfo(key, len(data), sha256(data))

    with contextlib.suppress(OSError):
        os.removexattr(path, ATTRIBUTE)
    sidecar.unlink(missing_ok=True)
    assert await h.store.head(key) == expected
    assert recorded_sha256(path) == sha256(data)

    sidecar.write_text(f"{'0' * 64} 1 2 3\n")
    with contextlib.suppress(OSError):
        os.setxattr(path, ATTRIBUTE, struct.pack("<32sQQ", bytes(32), 2, 3))
    assert await h.store.head(key) == expected
    assert recorded_sha256(path) == sha256(data)


async def test_head_reads_a_sidecar_that_still_describes_the_file(h: Harness) -> None:
    key, data = new_key(), b"described by a sidecar"
    upload(h, key, data)
    path = h.store.path_of(key)
    with contextlib.suppress(OSError):
        os.removexattr(path, ATTRIBUTE)
    st = path.stat()
    claimed = "ab" * 32  # not the bytes' hash: proves the sidecar, not a rehash, answered
    path.with_name(f".{path.name}.sha256").write_text(
        f"{claimed} {st.st_ino} {st.st_size} {st.st_mtime_ns}\n"
    )

    assert await h.store.head(key) == ObjectInfo(key, len(data), claimed)


def test_an_inline_download_is_served_inline(h: Harness, stored: tuple[str, bytes]) -> None:
    key, data = stored
    signed = h.store.sign_download(key, "photo.thumb.webp", "image/webp", TTL, inline=True)

    response = h.http.get(target(signed.url))

    assert response.status_code == 200
    assert response.content == data
    assert response.headers["content-type"] == "image/webp"
    assert response.headers["content-disposition"] == (
        "inline; filename=\"photo.thumb.webp\"; filename*=UTF-8''photo.thumb.webp"
    )
