"""End to end on both shapes: renditions made by verification, served by
``GET /v1/files/{id}/preview``, never files of their own, deleted with their original."""

from __future__ import annotations

import io
from typing import Any

import httpx
import pytest
from PIL import Image

from tests.e2e.flow import auth, register, upload, wait_final
from tests.e2e.shapes import Distributed, Embedded, Shape
from tests.support import images
from tests.support.moto_server import s3_client

pytestmark = pytest.mark.e2e

WIDTH, HEIGHT = 900, 600


def ready_photo(shape: Shape, http: httpx.Client, token: str) -> dict[str, Any]:
    data = images.jpeg_bytes(WIDTH, HEIGHT)
    file = register(http, shape.url, token, data, filename="Holiday 2026.jpg")
    assert upload(http, file, data).status_code == 200
    final = wait_final(http, shape.url, token, file["id"])
    assert final["state"] == "ready", final
    return final


def stored_rendition(shape: Shape, file_id: str, name: str) -> bytes:
    """The rendition's bytes as the store holds them (read behind filegate's back)."""
    suffix = f"{file_id}.{name}"
    if isinstance(shape, Embedded):
        [path] = [p for p in shape.data_dir.rglob(f"*{suffix}") if p.name == suffix]
        return path.read_bytes()
    assert isinstance(shape, Distributed)
    [key] = [k for k in shape.stored_objects(file_id) if k.endswith(suffix)]
    body: bytes = s3_client(shape.endpoint).get_object(Bucket=shape.bucket, Key=key)["Body"].read()
    return body


@pytest.mark.parametrize(("size", "long_edge"), [("thumb", 320), ("preview", 1600)])
def test_a_ready_photo_redirects_to_its_rendition_served_inline(
    shape: Shape, http: httpx.Client, size: str, long_edge: int
) -> None:
    alice = shape.token(user="previewer")
    file = ready_photo(shape, http, alice)

    redirect = http.get(
        f"{shape.url}/v1/files/{file['id']}/preview", params={"size": size}, headers=auth(alice)
    )
    assert redirect.status_code == 307, redirect.text
    assert redirect.headers["cache-control"] == "no-store"
    served = http.get(redirect.headers["location"])

    assert served.status_code == 200
    assert served.content == stored_rendition(shape, file["id"], size)
    assert served.headers["content-type"] in ("image/webp", "image/jpeg")
    disposition = served.headers["content-disposition"]
    assert disposition.startswith("inline;")
    assert "Holiday%202026.jpg" not in disposition  # not the original, not attached
    picture = Image.open(io.BytesIO(served.content))
    assert picture.get_format_mimetype() == served.headers["content-type"]
    assert max(picture.size) <= min(long_edge, WIDTH)
    assert picture.size[0] * HEIGHT == pytest.approx(picture.size[1] * WIDTH, rel=0.02)


def test_the_default_size_is_the_thumbnail(shape: Shape, http: httpx.Client) -> None:
    alice = shape.token(user="previewer")
    file = ready_photo(shape, http, alice)
    base = f"{shape.url}/v1/files/{file['id']}/preview"

    default = http.get(http.get(base, headers=auth(alice)).headers["location"])

    assert default.content == stored_rendition(shape, file["id"], "thumb")


def test_preview_refusals(shape: Shape, http: httpx.Client) -> None:
    alice, bob = shape.token(user="previewer"), shape.token(user="stranger")
    ready = ready_photo(shape, http, alice)
    waiting = register(http, shape.url, alice, images.jpeg_bytes())
    rejected = register(http, shape.url, alice, images.corrupt_jpeg())
    assert upload(http, rejected, images.corrupt_jpeg()).status_code == 200
    assert wait_final(http, shape.url, alice, rejected["id"])["state"] == "rejected"

    def preview(file_id: str, token: str, **params: str) -> tuple[int, str]:
        response = http.get(
            f"{shape.url}/v1/files/{file_id}/preview", params=params, headers=auth(token)
        )
        return response.status_code, response.json()["code"]

    assert preview(waiting["id"], alice) == (409, "NOT_READY")
    assert preview(rejected["id"], alice) == (409, "NOT_READY")
    assert preview(ready["id"], bob) == (404, "FILE_NOT_FOUND")
    assert preview("f" * 32, alice) == (404, "FILE_NOT_FOUND")
    assert preview(ready["id"], alice, size="huge") == (422, "VALIDATION_ERROR")
    granted = http.post(f"{shape.url}/v1/upload-grants", json={}, headers=auth(alice))
    assert granted.status_code == 201, granted.text
    assert preview(ready["id"], granted.json()["token"]) == (403, "FORBIDDEN")


def test_renditions_are_not_files_and_go_with_their_original(
    shape: Shape, http: httpx.Client
) -> None:
    owner = shape.token(user="rendition-owner")
    file = ready_photo(shape, http, owner)
    stored = shape.stored_objects(file["id"])
    assert any(name.endswith(f"{file['id']}.thumb") for name in stored)
    assert any(name.endswith(f"{file['id']}.preview") for name in stored)

    listing = http.get(f"{shape.url}/v1/files", headers=auth(owner)).json()["files"]
    assert [f["id"] for f in listing] == [file["id"]]
    assert http.delete(f"{shape.url}/v1/files/{file['id']}", headers=auth(owner)).status_code == 204

    assert shape.stored_objects(file["id"]) == []
