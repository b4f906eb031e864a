"""End to end, embedded shape: what the local store enforces while the bytes stream in.

moto does not check signatures or checksums, so upload security is tested here, against
the store filegate serves itself; for S3 the signed headers are asserted instead
(tests/integration/test_store_s3.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.flow import auth, register, upload, wait_final
from tests.e2e.shapes import Embedded
from tests.support import images

pytestmark = pytest.mark.e2e


def _without_length(file: dict[str, Any]) -> dict[str, Any]:
    """The upload instructions minus Content-Length, so the client sends the real length."""
    headers = {k: v for k, v in file["upload"]["headers"].items() if k.lower() != "content-length"}
    return {**file, "upload": {**file["upload"], "headers": headers}}


def _assert_refused_and_nothing_left(
    embedded: Embedded,
    http: httpx.Client,
    file: dict[str, Any],
    response: httpx.Response,
    status: int,
    code: str,
) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == code
    assert embedded.stored_objects(file["id"]) == []
    alice = embedded.token(user="alice")
    got = http.get(f"{embedded.url}/v1/files/{file['id']}", headers=auth(alice))
    assert got.json()["state"] == "registered"


def test_wrong_sha256_is_refused_and_leaves_nothing(embedded: Embedded, http: httpx.Client) -> None:
    data = images.jpeg_bytes()
    file = register(http, embedded.url, embedded.token(user="alice"), data, sha256="0" * 64)
    response = upload(http, file, data)
    _assert_refused_and_nothing_left(embedded, http, file, response, 400, "CHECKSUM_MISMATCH")


def test_body_longer_than_declared_is_refused(embedded: Embedded, http: httpx.Client) -> None:
    data = images.jpeg_bytes()
    file = register(http, embedded.url, embedded.token(user="alice"), data, sha256=None)
    response = upload(http, _without_length(file), data + b"extra bytes")
    _assert_refused_and_nothing_left(embedded, http, file, response, 400, "LENGTH_MISMATCH")


def test_streamed_body_longer_than_declared_is_cut_off(
    embedded: Embedded, http: httpx.Client
) -> None:
    data = images.jpeg_bytes()
    file = register(http, embedded.url, embedded.token(user="alice"), data, sha256=None)

    def chunks() -> Iterator[bytes]:
        yield data
        yield b"x" * 65536

    headers = _without_length(file)["upload"]["headers"]
    response = http.put(file["upload"]["url"], headers=headers, content=chunks())
    _assert_refused_and_nothing_left(embedded, http, file, response, 400, "LENGTH_MISMATCH")


def test_body_shorter_than_declared_is_refused(embedded: Embedded, http: httpx.Client) -> None:
    data = images.jpeg_bytes()
    file = register(http, embedded.url, embedded.token(user="alice"), data, sha256=None)
    response = upload(http, _without_length(file), data[:-10])
    _assert_refused_and_nothing_left(embedded, http, file, response, 400, "LENGTH_MISMATCH")


def test_tampered_url_is_refused(embedded: Embedded, http: httpx.Client) -> None:
    data = images.jpeg_bytes()
    file = register(http, embedded.url, embedded.token(user="alice"), data)
    url = httpx.URL(file["upload"]["url"])
    original = url.params["sig"]
    forged = ("A" if original[0] != "A" else "B") + original[1:]
    file["upload"]["url"] = str(url.copy_set_param("sig", forged))
    response = upload(http, file, data)
    _assert_refused_and_nothing_left(embedded, http, file, response, 403, "SIGNATURE_MISMATCH")


def test_wrong_content_type_is_refused(embedded: Embedded, http: httpx.Client) -> None:
    data = images.jpeg_bytes()
    file = register(http, embedded.url, embedded.token(user="alice"), data)
    file["upload"]["headers"]["Content-Type"] = "image/png"
    response = upload(http, file, data)
    _assert_refused_and_nothing_left(embedded, http, file, response, 403, "SIGNATURE_MISMATCH")


def test_second_put_is_refused_and_first_object_survives(
    embedded: Embedded, http: httpx.Client
) -> None:
    alice = embedded.token(user="alice")
    data = images.png_bytes()
    file = register(http, embedded.url, alice, data, "image/png", filename="a.png")
    assert upload(http, file, data).status_code == 200

    second = upload(http, file, data)

    assert (second.status_code, second.json()["code"]) == (409, "ALREADY_UPLOADED")
    final = wait_final(http, embedded.url, alice, file["id"])
    assert final["state"] == "ready"
