"""End to end on the embedded shape: the real server process, real HTTP on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import object_files
from tests.e2e.flow import auth, register, upload, wait_final
from tests.e2e.server import RunningServer
from tests.support import images

pytestmark = pytest.mark.e2e


def test_jpeg_goes_ready_and_comes_back_byte_identical(
    server: RunningServer, alice: str, http: httpx.Client
) -> None:
    data = images.jpeg_bytes(640, 480)
    file = register(http, server.url, alice, data, filename="Summer ☀ 2026.jpg")
    assert file["state"] == "registered"

    put = upload(http, file, data)
    assert put.status_code == 200, put.text

    final = wait_final(http, server.url, alice, file["id"])
    assert final["state"] == "ready"
    assert final["image"]["width"] == 640
    assert final["image"]["height"] == 480
    assert final["image"]["format"] == "JPEG"

    redirect = http.get(f"{server.url}/v1/files/{file['id']}/content", headers=auth(alice))
    assert redirect.status_code == 307
    download = http.get(redirect.headers["location"])
    assert download.status_code == 200
    assert download.content == data
    assert download.headers["content-type"] == "image/jpeg"
    assert download.headers["x-content-type-options"] == "nosniff"
    assert (
        "filename*=UTF-8''Summer%20%E2%98%80%202026.jpg" in download.headers["content-disposition"]
    )


@pytest.mark.parametrize(
    ("data", "declared", "reason"),
    [
        (images.truncated_jpeg(), "image/jpeg", "CORRUPT_IMAGE"),
        (images.corrupt_jpeg(), "image/jpeg", "CORRUPT_IMAGE"),
        (images.png_bytes(), "image/jpeg", "TYPE_MISMATCH"),
        (images.text_bytes(), "image/jpeg", "NOT_AN_IMAGE"),
    ],
    ids=["truncated-jpeg", "corrupt-jpeg", "png-declared-jpeg", "text-declared-image"],
)
def test_bad_images_are_rejected_with_their_reason(
    server: RunningServer, alice: str, http: httpx.Client, data: bytes, declared: str, reason: str
) -> None:
    file = register(http, server.url, alice, data, declared)
    assert upload(http, file, data).status_code == 200

    final = wait_final(http, server.url, alice, file["id"])

    assert (final["state"], final["reason"]) == ("rejected", reason)
    content = http.get(f"{server.url}/v1/files/{file['id']}/content", headers=auth(alice))
    assert (content.status_code, content.json()["code"]) == (409, "NOT_READY")


def _without_length(file: dict[str, Any]) -> dict[str, Any]:
    """The upload instructions minus Content-Length, so the client sends the real length."""
    headers = {k: v for k, v in file["upload"]["headers"].items() if k.lower() != "content-length"}
    return {**file, "upload": {**file["upload"], "headers": headers}}


def _assert_refused_and_nothing_left(
    server: RunningServer,
    alice: str,
    http: httpx.Client,
    file: dict[str, Any],
    response: httpx.Response,
    status: int,
    code: str,
) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == code
    assert object_files(server.data_dir, str(file["id"])) == []
    state = http.get(f"{server.url}/v1/files/{file['id']}", headers=auth(alice)).json()["state"]
    assert state == "registered"


def test_wrong_sha256_is_refused_and_leaves_nothing(
    server: RunningServer, alice: str, http: httpx.Client
) -> None:
    data = images.jpeg_bytes()
    file = register(http, server.url, alice, data, sha256="0" * 64)
    response = upload(http, file, data)
    _assert_refused_and_nothing_left(server, alice, http, file, response, 400, "CHECKSUM_MISMATCH")


def test_body_longer_than_declared_is_refused(
    server: RunningServer, alice: str, http: httpx.Client
) -> None:
    data = images.jpeg_bytes()
    file = register(http, server.url, alice, data, sha256=None)
    response = upload(http, _without_length(file), data + b"extra bytes")
    _assert_refused_and_nothing_left(server, alice, http, file, response, 400, "LENGTH_MISMATCH")


def test_streamed_body_longer_than_declared_is_cut_off(
    server: RunningServer, alice: str, http: httpx.Client
) -> None:
    data = images.jpeg_bytes()
    file = register(http, server.url, alice, data, sha256=None)
    headers = _without_length(file)["upload"]["headers"]

    def chunks() -> Iterator[bytes]:
        yield data
        yield b"x" * 65536

    response = http.put(file["upload"]["url"], headers=headers, content=chunks())
    _assert_refused_and_nothing_left(server, alice, http, file, response, 400, "LENGTH_MISMATCH")


def test_body_shorter_than_declared_is_refused(
    server: RunningServer, alice: str, http: httpx.Client
) -> None:
    data = images.jpeg_bytes()
    file = register(http, server.url, alice, data, sha256=None)
    response = upload(http, _without_length(file), data[:-10])
    _assert_refused_and_nothing_left(server, alice, http, file, response, 400, "LENGTH_MISMATCH")


def test_tampered_url_is_refused(server: RunningServer, alice: str, http: httpx.Client) -> None:
    data = images.jpeg_bytes()
    file = register(http, server.url, alice, data)
    url = httpx.URL(file["upload"]["url"])
    original = url.params["sig"]
    forged = ("A" if original[0] != "A" else "B") + original[1:]
    file["upload"]["url"] = str(url.copy_set_param("sig", forged))
    response = upload(http, file, data)
    _assert_refused_and_nothing_left(server, alice, http, file, response, 403, "SIGNATURE_MISMATCH")


def test_second_put_is_refused_and_first_object_survives(
    server: RunningServer, alice: str, http: httpx.Client
) -> None:
    data = images.png_bytes()
    file = register(http, server.url, alice, data, "image/png", filename="a.png")
    assert upload(http, file, data).status_code == 200

    second = upload(http, file, data)

    assert (second.status_code, second.json()["code"]) == (409, "ALREADY_UPLOADED")
    final = wait_final(http, server.url, alice, file["id"])
    assert final["state"] == "ready"


def test_another_owner_sees_nothing(server: RunningServer, alice: str, http: httpx.Client) -> None:
    bob = server.token(user="bob")
    data = images.jpeg_bytes()
    file = register(http, server.url, alice, data)
    base = f"{server.url}/v1/files/{file['id']}"
    attempts = [
        http.get(base, headers=auth(bob)),
        http.get(f"{base}/content", headers=auth(bob)),
        http.post(f"{base}/upload-url", headers=auth(bob)),
        http.post(f"{base}/complete", headers=auth(bob)),
        http.delete(base, headers=auth(bob)),
    ]
    assert [(r.status_code, r.json()["code"]) for r in attempts] == [(404, "FILE_NOT_FOUND")] * len(
        attempts
    )
    listing = http.get(f"{server.url}/v1/files", headers=auth(bob)).json()
    assert file["id"] not in {f["id"] for f in listing["files"]}
    assert http.get(base, headers=auth(alice)).status_code == 200


def test_requests_without_a_valid_token_are_unauthenticated(
    server: RunningServer, http: httpx.Client
) -> None:
    for headers in ({}, {"Authorization": "Bearer not-a-jwt"}, {"Authorization": "Basic eDp5"}):
        response = http.get(f"{server.url}/v1/files", headers=headers)
        assert (response.status_code, response.json()["code"]) == (401, "UNAUTHENTICATED")


def test_delete_removes_the_object_and_marks_the_file_deleted(
    server: RunningServer, alice: str, http: httpx.Client
) -> None:
    data = images.webp_bytes()
    file = register(http, server.url, alice, data, "image/webp", filename="x.webp")
    assert upload(http, file, data).status_code == 200
    assert wait_final(http, server.url, alice, file["id"])["state"] == "ready"

    assert (
        http.delete(f"{server.url}/v1/files/{file['id']}", headers=auth(alice)).status_code == 204
    )

    assert object_files(server.data_dir, file["id"]) == []
    got = http.get(f"{server.url}/v1/files/{file['id']}", headers=auth(alice)).json()
    assert got["state"] == "deleted"
