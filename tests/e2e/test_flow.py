"""End to end on both shapes: register, upload to the presigned URL, verification, download."""

from __future__ import annotations

import httpx
import pytest

from tests.e2e.flow import auth, register, upload, wait_final
from tests.e2e.shapes import Shape
from tests.support import images

pytestmark = pytest.mark.e2e


def test_jpeg_goes_ready_and_comes_back_byte_identical(shape: Shape, http: httpx.Client) -> None:
    alice = shape.token(user="alice")
    data = images.jpeg_bytes(640, 480)
    file = register(http, shape.urls[0], alice, data, filename="Summer ☀ 2026.jpg")
    assert file["state"] == "registered"

    put = upload(http, file, data)
    assert put.status_code == 200, put.text

    # Another API process answers: nothing lives in one process's memory.
    final = wait_final(http, shape.urls[-1], alice, file["id"])
    assert final["state"] == "ready"
    assert final["image"]["width"] == 640
    assert final["image"]["height"] == 480
    assert final["image"]["format"] == "JPEG"

    redirect = http.get(f"{shape.urls[-1]}/v1/files/{file['id']}/content", headers=auth(alice))
    assert redirect.status_code == 307
    download = http.get(redirect.headers["location"])
    assert download.status_code == 200
    assert download.content == data
    assert download.headers["content-type"] == "image/jpeg"
    disposition = download.headers["content-disposition"]
    assert "filename*=UTF-8''Summer%20%E2%98%80%202026.jpg" in disposition


@pytest.mark.parametrize(
    ("data", "declared", "reason"),
    [
        (images.truncated_jpeg(), "image/jpeg", "CORRUPT_IMAGE"),
        (images.corrupt_jpeg(), "image/jpeg", "CORRUPT_IMAGE"),
        (images.png_bytes(), "image/jpeg", "TYPE_MISMATCH"),
        (images.text_bytes(), "image/jpeg", "NOT_AN_IMAGE"),
        (images.bmp_bytes(), "image/jpeg", "UNSUPPORTED_FORMAT"),
    ],
    ids=["truncated-jpeg", "corrupt-jpeg", "png-declared-jpeg", "text-declared-image", "bmp"],
)
def test_bad_images_are_rejected_with_their_reason(
    shape: Shape, http: httpx.Client, data: bytes, declared: str, reason: str
) -> None:
    alice = shape.token(user="alice")
    file = register(http, shape.url, alice, data, declared)
    assert upload(http, file, data).status_code == 200

    final = wait_final(http, shape.url, alice, file["id"])

    assert (final["state"], final["reason"]) == ("rejected", reason)
    content = http.get(f"{shape.url}/v1/files/{file['id']}/content", headers=auth(alice))
    assert (content.status_code, content.json()["code"]) == (409, "NOT_READY")


def test_another_owner_sees_nothing(shape: Shape, http: httpx.Client) -> None:
    alice, bob = shape.token(user="alice"), shape.token(user="bob")
    file = register(http, shape.url, alice, images.jpeg_bytes())
    base = f"{shape.url}/v1/files/{file['id']}"
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
    listing = http.get(f"{shape.url}/v1/files", headers=auth(bob)).json()
    assert file["id"] not in {f["id"] for f in listing["files"]}
    assert http.get(base, headers=auth(alice)).status_code == 200


def test_requests_without_a_valid_token_are_unauthenticated(
    shape: Shape, http: httpx.Client
) -> None:
    for headers in ({}, {"Authorization": "Bearer not-a-jwt"}, {"Authorization": "Basic eDp5"}):
        response = http.get(f"{shape.url}/v1/files", headers=headers)
        assert (response.status_code, response.json()["code"]) == (401, "UNAUTHENTICATED")


def test_delete_removes_the_object_and_marks_the_file_deleted(
    shape: Shape, http: httpx.Client
) -> None:
    alice = shape.token(user="alice")
    data = images.webp_bytes()
    file = register(http, shape.url, alice, data, "image/webp", filename="x.webp")
    assert upload(http, file, data).status_code == 200
    assert wait_final(http, shape.url, alice, file["id"])["state"] == "ready"
    assert shape.stored_objects(file["id"]) != []

    deleted = http.delete(f"{shape.url}/v1/files/{file['id']}", headers=auth(alice))

    assert deleted.status_code == 204
    assert shape.stored_objects(file["id"]) == []
    got = http.get(f"{shape.url}/v1/files/{file['id']}", headers=auth(alice)).json()
    assert got["state"] == "deleted"


def test_complete_is_a_second_signal_and_idempotent(shape: Shape, http: httpx.Client) -> None:
    alice = shape.token(user="alice")
    data = images.gif_bytes(frames=3)
    file = register(http, shape.url, alice, data, "image/gif", filename="anim.gif")
    complete = f"{shape.url}/v1/files/{file['id']}/complete"

    early = http.post(complete, headers=auth(alice))
    assert (early.status_code, early.json()["code"]) == (409, "UPLOAD_INCOMPLETE")

    assert upload(http, file, data).status_code == 200
    again = http.post(complete, headers=auth(alice))
    assert again.status_code == 202
    assert again.json()["state"] in ("uploaded", "ready")
    final = wait_final(http, shape.url, alice, file["id"])
    assert final["state"] == "ready"
    assert final["image"]["frames"] == 3
