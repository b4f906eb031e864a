"""End to end: the rest of API v1 (batch, listing, idempotency, complete, validation)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.flow import auth, register, upload, wait_final
from tests.e2e.server import RunningServer
from tests.support import images

pytestmark = pytest.mark.e2e


def test_batch_registration_answers_each_item_in_order(
    server: RunningServer, http: httpx.Client
) -> None:
    token = server.token(user="batcher")
    good = {"filename": "a.jpg", "content_type": "image/jpeg", "size": 10}
    items = [
        good,
        {**good, "size": 0},
        {**good, "content_type": "application/pdf"},
        {"filename": "missing-size.jpg", "content_type": "image/jpeg"},
        {**good, "sha256": "xyz"},
        {**good, "filename": "b.png", "content_type": "image/png"},
    ]
    response = http.post(f"{server.url}/v1/files/batch", json={"files": items}, headers=auth(token))

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


def test_batch_over_the_limit_is_refused(server: RunningServer, http: httpx.Client) -> None:
    token = server.token(user="batcher")
    item = {"filename": "a.jpg", "content_type": "image/jpeg", "size": 10}
    response = http.post(
        f"{server.url}/v1/files/batch", json={"files": [item] * 501}, headers=auth(token)
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
    server: RunningServer,
    alice: str,
    http: httpx.Client,
    body: dict[str, object],
    status: int,
    code: str,
) -> None:
    response = http.post(f"{server.url}/v1/files", json=body, headers=auth(alice))
    assert (response.status_code, response.json()["code"]) == (status, code)
    assert response.headers["content-type"] == "application/problem+json"


def test_malformed_json_is_a_validation_error(
    server: RunningServer, alice: str, http: httpx.Client
) -> None:
    response = http.post(
        f"{server.url}/v1/files",
        content=b"{not json",
        headers={**auth(alice), "Content-Type": "application/json"},
    )
    assert (response.status_code, response.json()["code"]) == (422, "VALIDATION_ERROR")


def test_idempotency_key_returns_the_same_file(
    server: RunningServer, alice: str, http: httpx.Client
) -> None:
    body = {"filename": "a.jpg", "content_type": "image/jpeg", "size": 10}
    headers = {**auth(alice), "Idempotency-Key": "order-42-photo-1"}
    first = http.post(f"{server.url}/v1/files", json=body, headers=headers)
    second = http.post(f"{server.url}/v1/files", json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"]


def test_idempotency_key_reused_for_another_file_conflicts(
    server: RunningServer, alice: str, http: httpx.Client
) -> None:
    body = {"filename": "a.jpg", "content_type": "image/jpeg", "size": 10}
    headers = {**auth(alice), "Idempotency-Key": "order-43-photo-1"}
    assert http.post(f"{server.url}/v1/files", json=body, headers=headers).status_code == 201
    other = http.post(f"{server.url}/v1/files", json={**body, "size": 11}, headers=headers)
    assert (other.status_code, other.json()["code"]) == (409, "IDEMPOTENCY_CONFLICT")


def test_oversized_request_body_is_refused(
    server: RunningServer, alice: str, http: httpx.Client
) -> None:
    body = b'{"files": [' + b" " * (17 * 1024 * 1024) + b"]}"
    response = http.post(
        f"{server.url}/v1/files/batch",
        content=body,
        headers={**auth(alice), "Content-Type": "application/json"},
    )
    assert (response.status_code, response.json()["code"]) == (413, "REQUEST_TOO_LARGE")


def test_oversized_streamed_request_body_is_refused(
    server: RunningServer, alice: str, http: httpx.Client
) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"files": ['
        for _ in range(17):
            yield b" " * (1024 * 1024)
        yield b"]}"

    response = http.post(
        f"{server.url}/v1/files/batch",
        content=chunks(),
        headers={**auth(alice), "Content-Type": "application/json"},
    )
    assert (response.status_code, response.json()["code"]) == (413, "REQUEST_TOO_LARGE")


def test_listing_pages_through_every_file_once(server: RunningServer, http: httpx.Client) -> None:
    token = server.token(user="lister")
    created = [
        register(http, server.url, token, images.jpeg_bytes(), sha256=None)["id"] for _ in range(7)
    ]
    seen: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, str | int] = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = http.get(f"{server.url}/v1/files", params=params, headers=auth(token)).json()
        seen += [f["id"] for f in page["files"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(created))
    filtered = http.get(
        f"{server.url}/v1/files", params={"state": "ready"}, headers=auth(token)
    ).json()
    assert filtered["files"] == []
    bad = http.get(f"{server.url}/v1/files", params={"cursor": "garbage"}, headers=auth(token))
    assert (bad.status_code, bad.json()["code"]) == (422, "VALIDATION_ERROR")


def test_complete_before_upload_then_after_is_idempotent(
    server: RunningServer, alice: str, http: httpx.Client
) -> None:
    data = images.gif_bytes(frames=3)
    file = register(http, server.url, alice, data, "image/gif", filename="anim.gif")
    complete = f"{server.url}/v1/files/{file['id']}/complete"

    early = http.post(complete, headers=auth(alice))
    assert (early.status_code, early.json()["code"]) == (409, "UPLOAD_INCOMPLETE")

    assert upload(http, file, data).status_code == 200
    again = http.post(complete, headers=auth(alice))
    assert again.status_code == 202
    assert again.json()["state"] in ("uploaded", "ready")
    final = wait_final(http, server.url, alice, file["id"])
    assert final["state"] == "ready"
    assert final["image"]["frames"] == 3
    assert final["sha256"] == hashlib.sha256(data).hexdigest()


def test_fresh_upload_url_works_while_registered(
    server: RunningServer, alice: str, http: httpx.Client
) -> None:
    data = images.jpeg_bytes()
    file = register(http, server.url, alice, data)
    fresh = http.post(f"{server.url}/v1/files/{file['id']}/upload-url", headers=auth(alice))
    assert fresh.status_code == 200
    assert upload(http, {"upload": fresh.json()["upload"]}, data).status_code == 200
    assert wait_final(http, server.url, alice, file["id"])["state"] == "ready"
    after = http.post(f"{server.url}/v1/files/{file['id']}/upload-url", headers=auth(alice))
    assert (after.status_code, after.json()["code"]) == (409, "INVALID_STATE")


def test_malformed_file_id_is_not_found(
    server: RunningServer, alice: str, http: httpx.Client
) -> None:
    response = http.get(f"{server.url}/v1/files/..%2F..%2Fetc", headers=auth(alice))
    assert response.status_code == 404


def test_probes_and_openapi(server: RunningServer, http: httpx.Client) -> None:
    assert http.get(f"{server.url}/healthz").json() == {"status": "ok"}
    ready = http.get(f"{server.url}/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "store": "ok", "queue": "ok"}
    spec = http.get(f"{server.url}/openapi.json").json()
    assert "/v1/files" in spec["paths"]
    assert "x-request-id" in ready.headers
