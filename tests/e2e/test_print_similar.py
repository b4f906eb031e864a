"""End to end through the real ``filegate serve`` (embedded shape): a print size given at
registration or by PATCH comes back with its fitness from the real decode's facts, and
``similar_to`` answers and refuses as documented.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import httpx
import pytest

from tests.e2e.flow import auth, register, upload, wait_final
from tests.e2e.shapes import Embedded
from tests.support import images

pytestmark = pytest.mark.e2e

SQUARE_2IN = {"width_mm": 50.8, "height_mm": 50.8}


def new_token(embedded: Embedded) -> str:
    return embedded.token(f"print-{uuid.uuid4().hex[:8]}")


def register_printed(
    http: httpx.Client, embedded: Embedded, token: str, data: bytes, print_size: Any
) -> httpx.Response:
    body = {
        "filename": "print.jpg",
        "content_type": "image/jpeg",
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "print": print_size,
    }
    return http.post(f"{embedded.url}/v1/files", json=body, headers=auth(token))


def patch(
    http: httpx.Client, embedded: Embedded, token: str, file_id: str, body: Any
) -> httpx.Response:
    return http.patch(f"{embedded.url}/v1/files/{file_id}", json=body, headers=auth(token))


def test_a_print_size_from_registration_is_judged_once_verified(
    embedded: Embedded, http: httpx.Client
) -> None:
    token = new_token(embedded)
    data = images.jpeg_bytes(600, 400)
    registered = register_printed(http, embedded, token, data, SQUARE_2IN)
    assert registered.status_code == 201, registered.text
    file = registered.json()
    assert (file["print"], file["print_fitness"]) == (SQUARE_2IN, None)

    assert upload(http, file, data).status_code == 200
    ready = wait_final(http, embedded.url, token, file["id"])

    assert ready["state"] == "ready", ready
    assert ready["print_fitness"] == {"effective_dpi": 200, "verdict": "low"}


def test_patch_sets_changes_and_clears_the_print_size(
    embedded: Embedded, http: httpx.Client
) -> None:
    token = new_token(embedded)
    data = images.jpeg_with_orientation(6, 600, 400)
    file = register(http, embedded.url, token, data)
    assert upload(http, file, data).status_code == 200
    ready = wait_final(http, embedded.url, token, file["id"])
    assert (ready["image"]["display_width"], ready["image"]["display_height"]) == (400, 600)

    portrait = patch(
        http, embedded, token, file["id"], {"print": {"width_mm": 33.8667, "height_mm": 50.8}}
    )
    poster = patch(
        http, embedded, token, file["id"], {"print": {"width_mm": 500, "height_mm": 700}}
    )
    cleared = patch(http, embedded, token, file["id"], {"print": None})

    assert portrait.status_code == 200, portrait.text
    assert portrait.json()["print_fitness"] == {"effective_dpi": 300, "verdict": "good"}
    assert poster.json()["print_fitness"] == {"effective_dpi": 20, "verdict": "too_low"}
    assert (cleared.json()["print"], cleared.json()["print_fitness"]) == (None, None)
    again = http.get(f"{embedded.url}/v1/files/{file['id']}", headers=auth(token)).json()
    assert again["print"] is None


def test_a_bad_print_size_is_refused_with_the_validation_code(
    embedded: Embedded, http: httpx.Client
) -> None:
    token = new_token(embedded)
    data = images.jpeg_bytes(40, 40)
    refused = register_printed(http, embedded, token, data, {"width_mm": 0, "height_mm": 1})
    assert refused.status_code == 422
    assert refused.json()["code"] == "VALIDATION_ERROR"
    file = register(http, embedded.url, token, data)
    too_big = patch(
        http, embedded, token, file["id"], {"print": {"width_mm": 20_000, "height_mm": 1}}
    )
    assert (too_big.status_code, too_big.json()["code"]) == (422, "VALIDATION_ERROR")


def test_similar_to_refuses_what_it_cannot_answer(embedded: Embedded, http: httpx.Client) -> None:
    token, other = new_token(embedded), new_token(embedded)
    file = register(http, embedded.url, token, images.jpeg_bytes(30, 30))
    listing = f"{embedded.url}/v1/files"

    not_ready = http.get(listing, params={"similar_to": file["id"]}, headers=auth(token))
    not_mine = http.get(listing, params={"similar_to": file["id"]}, headers=auth(other))
    with_state = http.get(
        listing, params={"similar_to": file["id"], "state": "ready"}, headers=auth(token)
    )

    assert (not_ready.status_code, not_ready.json()["code"]) == (409, "NOT_READY")
    assert (not_mine.status_code, not_mine.json()["code"]) == (404, "FILE_NOT_FOUND")
    assert (with_state.status_code, with_state.json()["code"]) == (422, "VALIDATION_ERROR")
