"""The client side of an upload, as a real client would do it over HTTP."""

from __future__ import annotations

import hashlib
from typing import Any

import httpx


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def register(
    http: httpx.Client,
    base: str,
    token: str,
    data: bytes,
    content_type: str = "image/jpeg",
    *,
    filename: str = "photo.jpg",
    sha256: str | None = "auto",
    size: int | None = None,
) -> dict[str, Any]:
    """Register a file for ``data``; ``sha256="auto"`` declares the true checksum."""
    body: dict[str, Any] = {
        "filename": filename,
        "content_type": content_type,
        "size": len(data) if size is None else size,
    }
    if sha256 == "auto":
        body["sha256"] = hashlib.sha256(data).hexdigest()
    elif sha256 is not None:
        body["sha256"] = sha256
    response = http.post(f"{base}/v1/files", json=body, headers=auth(token))
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def upload(http: httpx.Client, file: dict[str, Any], data: bytes) -> httpx.Response:
    """Perform the returned upload instructions with ``data`` as the body."""
    instructions = file["upload"]
    return http.request(
        instructions["method"], instructions["url"], headers=instructions["headers"], content=data
    )


def wait_final(http: httpx.Client, base: str, token: str, file_id: str) -> dict[str, Any]:
    """Long-poll until the file reaches a final state (bounded by the server's wait cap)."""
    for _ in range(6):
        response = http.get(f"{base}/v1/files/{file_id}", params={"wait": 10}, headers=auth(token))
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        if body["state"] not in ("registered", "uploaded"):
            return body
    raise AssertionError(f"file {file_id} never reached a final state: {body}")
