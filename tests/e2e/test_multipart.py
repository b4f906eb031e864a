"""End to end, distributed shape: a large file uploaded in parts straight to S3, resumed."""

from __future__ import annotations

import httpx
import pytest

from tests.e2e.flow import auth, register, wait_final
from tests.e2e.shapes import MULTIPART_THRESHOLD, Distributed, Embedded
from tests.support import images

pytestmark = pytest.mark.e2e


def _large_png() -> bytes:
    """A PNG of noise (incompressible), a little over 9 MiB."""
    data = images.noise_png(1800)
    assert len(data) > MULTIPART_THRESHOLD
    return data


def test_large_file_is_uploaded_in_parts_and_resumed(
    distributed: Distributed, http: httpx.Client
) -> None:
    token = distributed.token(user="alice")
    data = _large_png()
    file = register(http, distributed.url, token, data, "image/png", filename="big.png")
    upload = file["upload"]
    assert (upload["method"], upload["url"]) == ("MULTIPART", f"/v1/files/{file['id']}/parts")
    size, count = upload["part_size"], upload["part_count"]
    assert size * (count - 1) < len(data) <= size * count
    parts_url = f"{distributed.url}{upload['url']}"

    first = http.post(parts_url, json={"part_numbers": [1]}, headers=auth(token))
    assert first.status_code == 200, first.text
    [part] = first.json()["parts"]
    put = http.put(part["url"], headers=part["headers"], content=data[:size])
    assert put.status_code == 200, put.text

    # The client "crashes"; on resume it lists what is stored and asks for fresh URLs.
    stored = http.get(parts_url, headers=auth(token)).json()["parts"]
    assert [(p["number"], p["size"]) for p in stored] == [(1, size)]
    rest = list(range(2, count + 1))
    fresh = http.post(parts_url, json={"part_numbers": rest}, headers=auth(token)).json()
    etags = {1: put.headers["etag"]}
    for part in fresh["parts"]:
        number = part["number"]
        chunk = data[(number - 1) * size : number * size]
        response = http.put(part["url"], headers=part["headers"], content=chunk)
        assert response.status_code == 200, response.text
        etags[number] = response.headers["etag"]

    body = {"parts": [{"number": n, "etag": etags[n]} for n in sorted(etags)]}
    done = http.post(f"{parts_url}/complete", json=body, headers=auth(token))
    assert done.status_code == 202, done.text

    final = wait_final(http, distributed.urls[-1], token, file["id"])
    assert (final["state"], final["image"]["width"]) == ("ready", 1800)
    redirect = http.get(f"{distributed.url}/v1/files/{file['id']}/content", headers=auth(token))
    assert http.get(redirect.headers["location"]).content == data


def test_a_store_without_parts_has_no_part_routes(embedded: Embedded, http: httpx.Client) -> None:
    token = embedded.token(user="alice")
    file = register(http, embedded.url, token, b"\xff\xd8\xff" + b"0" * 100)
    response = http.post(
        f"{embedded.url}/v1/files/{file['id']}/parts",
        json={"part_numbers": [1]},
        headers=auth(token),
    )
    assert (response.status_code, response.json()["code"]) == (404, "NOT_FOUND")
    paths = http.get(f"{embedded.url}/openapi.json").json()["paths"]
    assert not [path for path in paths if "/parts" in path]


def test_an_upload_grant_uploads_the_parts_of_its_own_files_only(
    distributed: Distributed, http: httpx.Client
) -> None:
    owner = distributed.token(user="grantor")
    grants = [
        http.post(f"{distributed.url}/v1/upload-grants", json={"uses": 2}, headers=auth(owner))
        for _ in range(2)
    ]
    assert [g.status_code for g in grants] == [201, 201]
    phone, other_phone = (g.json()["token"] for g in grants)
    data = _large_png()
    file = register(http, distributed.url, phone, data, "image/png", filename="from-phone.png")
    parts_url = f"{distributed.url}/v1/files/{file['id']}/parts"

    mine = http.post(parts_url, json={"part_numbers": [1]}, headers=auth(phone))
    theirs = http.post(parts_url, json={"part_numbers": [1]}, headers=auth(other_phone))

    assert mine.status_code == 200, mine.text
    assert (theirs.status_code, theirs.json()["code"]) == (404, "FILE_NOT_FOUND")
    # A grant reads back only its own files (to learn their outcome), and lists none.
    own = http.get(f"{distributed.url}/v1/files/{file['id']}", headers=auth(phone))
    other = http.get(f"{distributed.url}/v1/files/{file['id']}", headers=auth(other_phone))
    listing = http.get(f"{distributed.url}/v1/files", headers=auth(phone))
    assert (own.status_code, own.json()["state"]) == (200, "registered")
    assert (other.status_code, other.json()["code"]) == (404, "FILE_NOT_FOUND")
    assert (listing.status_code, listing.json()["code"]) == (403, "FORBIDDEN")
