"""End to end on both shapes: the rest of API v1 (batch, listing, idempotency, validation)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.flow import auth, register, upload, wait_final
from tests.e2e.shapes import Shape
from tests.support import images

pytestmark = pytest.mark.e2e


def test_batch_registration_answers_each_item_in_order(shape: Shape, http: httpx.Client) -> None:
    token = shape.token(user="batcher")
    good = {"filename": "a.jpg", "content_type": "image/jpeg", "size": 10}
    items = [
        good,
        {**good, "size": 0},
        {**good, "content_type": "application/pdf"},
        {"filename": "missing-size.jpg", "content_type": "image/jpeg"},
        {**good, "sha256": "xyz"},
        {**good, "filename": "b.png", "content_type": "image/png"},
    ]
    response = http.post(f"{shape.url}/v1/files/batch", json={"files": items}, headers=auth(token))

    assert response.status_code == 201, response.text
    results = response.json()["files"]
    codes = [r["error"]["code"] if "error" in r else r["state"] for r in results]
    assert codes == [
        "registered",
        "EMPTY_FILE",
        "UNSUPPORTED_MEDIA_TYPE",
        "VALIDATION_ERROR",
        "VALIDATION_ERROR",
        "registered",
    ]
    assert all(r["upload"]["method"] == "PUT" for r in results if "error" not in r)


def test_batch_over_the_limit_is_refused(shape: Shape, http: httpx.Client) -> None:
    token = shape.token(user="batcher")
    item = {"filename": "a.jpg", "content_type": "image/jpeg", "size": 10}
    response = http.post(
        f"{shape.url}/v1/files/batch", json={"files": [item] * 501}, headers=auth(token)
    )
    assert (response.status_code, response.json()["code"]) == (422, "VALIDATION_ERROR")


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"filename": "a.jpg", "content_type": "image/jpeg", "size": 0}, 422, "EMPTY_FILE"),
        (
            {"filename": "a.jpg", "content_type": "image/jpeg", "size": 10**12},
            413,
            "FILE_TOO_LARGE",
        ),
        (
            {"filename": "a.pdf", "content_type": "application/pdf", "size": 5},
            415,
            "UNSUPPORTED_MEDIA_TYPE",
        ),
        ({"filename": "a.jpg", "content_type": "image/jpeg", "size": -1}, 422, "VALIDATION_ERROR"),
        (
            {"filename": "a.jpg", "content_type": "image/jpeg", "size": 5, "sha256": "zz"},
            422,
            "VALIDATION_ERROR",
        ),
        ({"filename": "", "content_type": "image/jpeg", "size": 5}, 422, "VALIDATION_ERROR"),
        ({"content_type": "image/jpeg", "size": 5}, 422, "VALIDATION_ERROR"),
        ({"filename": "a", "content_type": "image/jpeg", "size": "big"}, 422, "VALIDATION_ERROR"),
        ({"filename": "a", "content_type": "image/jpeg", "size": True}, 422, "VALIDATION_ERROR"),
        ({"filename": "a", "content_type": "image/jpeg", "size": 5.0}, 422, "VALIDATION_ERROR"),
    ],
)
def test_registration_refusals(
    shape: Shape,
    http: httpx.Client,
    body: dict[str, object],
    status: int,
    code: str,
) -> None:
    alice = shape.token(user="alice")
    response = http.post(f"{shape.url}/v1/files", json=body, headers=auth(alice))
    assert (response.status_code, response.json()["code"]) == (status, code)
    assert response.headers["content-type"] == "application/problem+json"


def test_malformed_json_is_a_validation_error(shape: Shape, http: httpx.Client) -> None:
    alice = shape.token(user="alice")
    response = http.post(
        f"{shape.url}/v1/files",
        content=b"{not json",
        headers={**auth(alice), "Content-Type": "application/json"},
    )
    assert (response.status_code, response.json()["code"]) == (422, "VALIDATION_ERROR")


def test_idempotency_key_returns_the_same_file(shape: Shape, http: httpx.Client) -> None:
    alice = shape.token(user="alice")
    body = {"filename": "a.jpg", "content_type": "image/jpeg", "size": 10}
    headers = {**auth(alice), "Idempotency-Key": "order-42-photo-1"}
    first = http.post(f"{shape.url}/v1/files", json=body, headers=headers)
    second = http.post(f"{shape.url}/v1/files", json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"]


def test_idempotency_key_reused_for_another_file_conflicts(
    shape: Shape, http: httpx.Client
) -> None:
    alice = shape.token(user="alice")
    body = {"filename": "a.jpg", "content_type": "image/jpeg", "size": 10}
    headers = {**auth(alice), "Idempotency-Key": "order-43-photo-1"}
    assert http.post(f"{shape.url}/v1/files", json=body, headers=headers).status_code == 201
    other = http.post(f"{shape.url}/v1/files", json={**body, "size": 11}, headers=headers)
    assert (other.status_code, other.json()["code"]) == (409, "IDEMPOTENCY_CONFLICT")


def test_oversized_request_body_is_refused(shape: Shape, http: httpx.Client) -> None:
    alice = shape.token(user="alice")
    body = b'{"files": [' + b" " * (17 * 1024 * 1024) + b"]}"
    response = http.post(
        f"{shape.url}/v1/files/batch",
        content=body,
        headers={**auth(alice), "Content-Type": "application/json"},
    )
    assert (response.status_code, response.json()["code"]) == (413, "REQUEST_TOO_LARGE")


def test_oversized_streamed_request_body_is_refused(shape: Shape, http: httpx.Client) -> None:
    alice = shape.token(user="alice")

    def chunks() -> Iterator[bytes]:
        yield b'{"files": ['
        for _ in range(17):
            yield b" " * (1024 * 1024)
        yield b"]}"

    response = http.post(
        f"{shape.url}/v1/files/batch",
        content=chunks(),
        headers={**auth(alice), "Content-Type": "application/json"},
    )
    assert (response.status_code, response.json()["code"]) == (413, "REQUEST_TOO_LARGE")


def test_listing_pages_through_every_file_once(shape: Shape, http: httpx.Client) -> None:
    token = shape.token(user="lister")
    created = [
        register(http, shape.url, token, images.jpeg_bytes(), sha256=None)["id"] for _ in range(7)
    ]
    seen: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, str | int] = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = http.get(f"{shape.url}/v1/files", params=params, headers=auth(token)).json()
        seen += [f["id"] for f in page["files"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(created))
    filtered = http.get(
        f"{shape.url}/v1/files", params={"state": "ready"}, headers=auth(token)
    ).json()
    assert filtered["files"] == []
    bad = http.get(f"{shape.url}/v1/files", params={"cursor": "garbage"}, headers=auth(token))
    assert (bad.status_code, bad.json()["code"]) == (422, "VALIDATION_ERROR")


def test_fresh_upload_url_works_while_registered(shape: Shape, http: httpx.Client) -> None:
    alice = shape.token(user="alice")
    data = images.jpeg_bytes()
    file = register(http, shape.url, alice, data)
    fresh = http.post(f"{shape.url}/v1/files/{file['id']}/upload-url", headers=auth(alice))
    assert fresh.status_code == 200
    assert upload(http, {"upload": fresh.json()["upload"]}, data).status_code == 200
    assert wait_final(http, shape.url, alice, file["id"])["state"] == "ready"
    after = http.post(f"{shape.url}/v1/files/{file['id']}/upload-url", headers=auth(alice))
    assert (after.status_code, after.json()["code"]) == (409, "INVALID_STATE")


def test_malformed_file_id_is_not_found(shape: Shape, http: httpx.Client) -> None:
    alice = shape.token(user="alice")
    response = http.get(f"{shape.url}/v1/files/..%2F..%2Fetc", headers=auth(alice))
    assert response.status_code == 404


def test_probes_and_openapi(shape: Shape, http: httpx.Client) -> None:
    assert http.get(f"{shape.url}/healthz").json() == {"status": "ok"}
    ready = http.get(f"{shape.url}/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "store": "ok", "queue": "ok"}
    spec = http.get(f"{shape.url}/openapi.json").json()
    assert "/v1/files" in spec["paths"]
    # Only the S3 store takes files in parts: elsewhere its routes are not even listed.
    multipart = {path for path in spec["paths"] if "/parts" in path}
    assert bool(multipart) is (shape.name == "distributed"), sorted(multipart)
    assert "x-request-id" in ready.headers
