"""Print fitness, the file's image facts and similar files over the real app in-process
(real SQLite, the real local store and decode pool), with an injected clock.

Files with a perceptual hash are written through the runtime's own repository: the
decoder that computes hashes is not what these tests are about.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from filegate.domain.models import FileRecord, ImageInfo, Rendition, RenditionName
from filegate.domain.states import FileState
from tests.integration.test_lifecycle_api import (
    Api,
    no_filegate_environment,
    problem,
    running_api,
)
from tests.support import images
from tests.support.records import make_record

__all__ = ["no_filegate_environment"]  # the autouse fixture, applied here too

BASE_HASH = 0xF0E1D2C3B4A59687
SQUARE_2IN = {"width_mm": 50.8, "height_mm": 50.8}


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    async with running_api(tmp_path / "data") as running:
        yield running


async def register(api: Api, data: bytes, **fields: Any) -> httpx.Response:
    body = {
        "filename": "photo.jpg",
        "content_type": "image/jpeg",
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        **fields,
    }
    return await api.client.post("/v1/files", json=body, headers=api.alice)


async def uploaded_and_verified(api: Api, file: dict[str, Any], data: bytes) -> dict[str, Any]:
    upload = file["upload"]
    put = await api.client.put(upload["url"], headers=upload["headers"], content=data)
    assert put.status_code == 200, put.text
    await api.work()
    return await api.get(file["id"])


# --- print fitness ---------------------------------------------------------------------


async def test_a_print_size_given_at_registration_gets_its_fitness_once_verified(
    api: Api,
) -> None:
    data = images.jpeg_bytes(600, 400)
    response = await register(api, data, print=SQUARE_2IN)
    assert response.status_code == 201, response.text
    registered = response.json()
    assert registered["print"] == SQUARE_2IN
    assert registered["print_fitness"] is None  # no image facts yet

    ready = await uploaded_and_verified(api, registered, data)

    assert ready["state"] == "ready"
    # 400 px must cover 2 in: 200 dpi, between the default thresholds 150 and 300.
    assert ready["print_fitness"] == {"effective_dpi": 200, "verdict": "low"}


async def test_patching_print_alone_recomputes_the_fitness_and_keeps_retention(
    api: Api,
) -> None:
    data = images.jpeg_bytes(600, 400)
    file = await api.ready_file(data)
    assert (file["print"], file["print_fitness"]) == (None, None)
    pinned = await api.patch(file["id"], {"pinned": True})
    assert pinned.status_code == 200, pinned.text

    small = await api.patch(file["id"], {"print": {"width_mm": 50.8, "height_mm": 33.8667}})
    large = await api.patch(file["id"], {"print": {"width_mm": 254, "height_mm": 254}})

    assert small.status_code == 200, small.text
    assert small.json()["print_fitness"] == {"effective_dpi": 300, "verdict": "good"}
    assert large.json()["print_fitness"] == {"effective_dpi": 40, "verdict": "too_low"}
    assert large.json()["pinned"] is True
    assert (await api.get(file["id"]))["print"] == {"width_mm": 254.0, "height_mm": 254.0}


async def test_a_portrait_print_of_a_landscape_photo_is_fitted_rotated(api: Api) -> None:
    file = await api.ready_file(images.jpeg_bytes(600, 400))
    portrait = await api.patch(file["id"], {"print": {"width_mm": 33.8667, "height_mm": 50.8}})
    assert portrait.json()["print_fitness"] == {"effective_dpi": 300, "verdict": "good"}


async def test_the_displayed_size_after_orientation_is_reported(api: Api) -> None:
    file = await api.ready_file(images.jpeg_with_orientation(6, 600, 400))
    image = file["image"]
    assert (image["width"], image["height"], image["orientation"]) == (600, 400, 6)
    assert (image["display_width"], image["display_height"]) == (400, 600)
    fitness = await api.patch(file["id"], {"print": {"width_mm": 33.8667, "height_mm": 50.8}})
    assert fitness.json()["print_fitness"]["effective_dpi"] == 300


async def test_print_null_clears_it_and_retention_alone_keeps_it(api: Api) -> None:
    file = await api.ready_file(images.jpeg_bytes(600, 400))
    await api.patch(file["id"], {"print": SQUARE_2IN})

    kept = await api.patch(file["id"], {"retain_until": api.at(timedelta(hours=2))})
    cleared = await api.patch(file["id"], {"print": None})

    assert kept.json()["print"] == SQUARE_2IN
    assert kept.json()["retain_until"] is not None
    assert (cleared.json()["print"], cleared.json()["print_fitness"]) == (None, None)
    assert cleared.json()["retain_until"] == kept.json()["retain_until"]


async def test_retention_and_print_change_together(api: Api) -> None:
    file = await api.ready_file(images.jpeg_bytes(600, 400))
    both = await api.patch(file["id"], {"pinned": True, "print": SQUARE_2IN})
    assert both.status_code == 200, both.text
    assert (both.json()["pinned"], both.json()["print"]) == (True, SQUARE_2IN)


async def test_a_refused_retention_part_writes_no_print_either(api: Api) -> None:
    file = await api.ready_file(images.jpeg_bytes(600, 400))
    body = {"retain_until": "2020-01-01T00:00:00Z", "print": SQUARE_2IN}
    problem(await api.patch(file["id"], body), 422, "VALIDATION_ERROR")
    assert (await api.get(file["id"]))["print"] is None


@pytest.mark.parametrize(
    "print_size",
    [
        {"width_mm": 0, "height_mm": 100},
        {"width_mm": -1, "height_mm": 100},
        {"width_mm": 10_000.5, "height_mm": 100},
        {"width_mm": "210", "height_mm": 297},
        {"width_mm": True, "height_mm": 297},
        {"width_mm": 210},
        {"width_mm": 210, "height_mm": 297, "depth_mm": 1},
        [210, 297],
    ],
    ids=["zero", "negative", "over-10m", "string", "bool", "missing", "extra", "list"],
)
async def test_bad_print_sizes_are_validation_errors(api: Api, print_size: object) -> None:
    file = await api.ready_file(images.jpeg_bytes())
    problem(await api.patch(file["id"], {"print": print_size}), 422, "VALIDATION_ERROR")
    refused = await register(api, images.jpeg_bytes(40, 40), print=print_size)
    problem(refused, 422, "VALIDATION_ERROR")


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
async def test_non_finite_print_sizes_are_validation_errors(api: Api, literal: str) -> None:
    file = await api.ready_file(images.jpeg_bytes())
    raw = f'{{"print": {{"width_mm": {literal}, "height_mm": 100}}}}'
    response = await api.client.patch(
        f"/v1/files/{file['id']}",
        content=raw,
        headers={**api.alice, "Content-Type": "application/json"},
    )
    problem(response, 422, "VALIDATION_ERROR")


async def test_print_of_a_deleted_file_is_invalid_state_and_of_anothers_not_found(
    api: Api,
) -> None:
    file = await api.ready_file(images.jpeg_bytes())
    theirs = await api.client.patch(
        f"/v1/files/{file['id']}", json={"print": SQUARE_2IN}, headers=api.bob
    )
    problem(theirs, 404, "FILE_NOT_FOUND")
    deleted = await api.client.delete(f"/v1/files/{file['id']}", headers=api.alice)
    assert deleted.status_code == 204
    problem(await api.patch(file["id"], {"print": SQUARE_2IN}), 409, "INVALID_STATE")


async def test_batch_registration_and_batch_patch_carry_print(api: Api) -> None:
    ready = await api.ready_file(images.jpeg_bytes(600, 400))
    data = images.jpeg_bytes(30, 30)
    item = {"filename": "a.jpg", "content_type": "image/jpeg", "size": len(data)}
    batch = await api.client.post(
        "/v1/files/batch",
        json={"files": [{**item, "print": SQUARE_2IN}, {**item, "print": {"width_mm": 0}}]},
        headers=api.alice,
    )
    assert batch.status_code == 201, batch.text
    registered, refused = batch.json()["files"]
    assert registered["print"] == SQUARE_2IN
    assert refused["error"]["code"] == "VALIDATION_ERROR"

    body = {
        "files": [
            {"id": ready["id"], "print": SQUARE_2IN},
            {"id": registered["id"], "print": None, "pinned": True},
            {"id": ready["id"], "print": {"width_mm": -5, "height_mm": 1}},
        ]
    }
    patched = await api.client.patch("/v1/files", json=body, headers=api.alice)
    assert patched.status_code == 200, patched.text
    first, second, third = patched.json()["files"]
    assert first["print_fitness"] == {"effective_dpi": 200, "verdict": "low"}
    assert (second["print"], second["pinned"]) == (None, True)
    assert third["error"]["code"] == "VALIDATION_ERROR"


async def test_a_retry_with_another_print_size_is_an_idempotency_conflict(api: Api) -> None:
    data = images.jpeg_bytes(30, 30)
    body = {"filename": "a.jpg", "content_type": "image/jpeg", "size": len(data)}
    key = {**api.alice, "Idempotency-Key": "print-retry"}
    first = await api.client.post("/v1/files", json={**body, "print": SQUARE_2IN}, headers=key)
    same = await api.client.post("/v1/files", json={**body, "print": SQUARE_2IN}, headers=key)
    other = {**body, "print": {"width_mm": 100, "height_mm": 150}}
    conflict = await api.client.post("/v1/files", json=other, headers=key)
    assert (first.status_code, same.status_code) == (201, 201)
    assert same.json()["id"] == first.json()["id"]
    problem(conflict, 409, "IDEMPOTENCY_CONFLICT")


async def test_configured_thresholds_judge_the_fitness(tmp_path: Path) -> None:
    async with running_api(tmp_path / "data", print_good_dpi=200, print_low_dpi=100) as api:
        file = await api.ready_file(images.jpeg_bytes(600, 400))
        response = await api.patch(file["id"], {"print": SQUARE_2IN})
        assert response.json()["print_fitness"] == {"effective_dpi": 200, "verdict": "good"}


# --- facts, placeholder, renditions ----------------------------------------------------

FACTS = ImageInfo(
    format="JPEG",
    width=4032,
    height=3024,
    orientation=6,
    mode="RGB",
    bit_depth=8,
    icc_embedded=True,
    icc_description="Display P3",
    dpi=(72.0, 72.0),
    captured_at="2024-05-01T12:30:00+02:00",
    camera_make="Apple",
    camera_model="iPhone 15",
    has_location=True,
)


async def stored_ready(
    api: Api,
    perceptual_hash: int | None,
    minutes: int = 0,
    owner: str = "user:alice",
    **overrides: Any,
) -> FileRecord:
    """A READY file of ``owner`` written through the runtime's repository."""
    record = make_record(
        owner,
        state=FileState.READY,
        perceptual_hash=perceptual_hash,
        image=FACTS,
        created_at=api.clock.now() - timedelta(hours=1) + timedelta(minutes=minutes),
        **overrides,
    )
    return await api.runtime.repository.add(record)


async def test_the_file_shows_every_fact_its_placeholder_and_renditions(api: Api) -> None:
    renditions = (
        Rendition(RenditionName.THUMB, "image/webp", 240, 320, 9_000),
        Rendition(RenditionName.PREVIEW, "image/webp", 1200, 1600, 200_000),
    )
    record = await stored_ready(api, BASE_HASH, placeholder="LKO2?U%2Tw=w", renditions=renditions)

    file = await api.get(record.id)

    assert file["image"] == {
        "width": 4032,
        "height": 3024,
        "display_width": 3024,
        "display_height": 4032,
        "format": "JPEG",
        "orientation": 6,
        "mode": "RGB",
        "frames": 1,
        "animated": False,
        "bit_depth": 8,
        "cmyk": False,
        "icc_embedded": True,
        "icc_description": "Display P3",
        "dpi": [72.0, 72.0],
        "captured_at": "2024-05-01T12:30:00+02:00",
        "camera_make": "Apple",
        "camera_model": "iPhone 15",
        "has_location": True,
    }
    assert file["placeholder"] == "LKO2?U%2Tw=w"
    assert file["renditions"] == {
        "thumb": {"width": 240, "height": 320, "content_type": "image/webp", "size": 9_000},
        "preview": {"width": 1200, "height": 1600, "content_type": "image/webp", "size": 200_000},
    }
    assert file["distance"] is None


async def test_a_file_without_renditions_shows_an_empty_object(api: Api) -> None:
    file = await api.ready_file(images.jpeg_bytes())
    assert file["renditions"] == {}


# --- similar files ---------------------------------------------------------------------


async def similar(api: Api, query: str, auth: dict[str, str] | None = None) -> httpx.Response:
    return await api.client.get(f"/v1/files?{query}", headers=auth or api.alice)


async def test_similar_files_are_nearest_first_with_their_distance(api: Api) -> None:
    source = await stored_ready(api, BASE_HASH, minutes=0)
    far = await stored_ready(api, BASE_HASH ^ 0b1111, minutes=1)
    near = await stored_ready(api, BASE_HASH ^ (1 << 63), minutes=2)
    twin = await stored_ready(api, BASE_HASH, minutes=3)
    await stored_ready(api, BASE_HASH ^ ((1 << 11) - 1), minutes=4)  # 11 bits: too far
    await stored_ready(api, BASE_HASH, owner="user:bob")

    response = await similar(api, f"similar_to={source.id}")

    assert response.status_code == 200, response.text
    listed = [(f["id"], f["distance"]) for f in response.json()["files"]]
    assert listed == [(twin.id, 0), (near.id, 1), (far.id, 4)]
    assert response.json()["next_cursor"] is None


async def test_max_distance_and_limit_narrow_the_answer(api: Api) -> None:
    source = await stored_ready(api, BASE_HASH)
    near = await stored_ready(api, BASE_HASH ^ 1, minutes=1)
    await stored_ready(api, BASE_HASH ^ 0b11, minutes=2)
    far = await stored_ready(api, BASE_HASH ^ ((1 << 20) - 1), minutes=3)

    strict = await similar(api, f"similar_to={source.id}&max_distance=1")
    wide = await similar(api, f"similar_to={source.id}&max_distance=64&limit=1")
    everything = await similar(api, f"similar_to={source.id}&max_distance=64")

    assert [f["id"] for f in strict.json()["files"]] == [near.id]
    assert [f["id"] for f in wide.json()["files"]] == [near.id]
    assert everything.json()["files"][-1]["id"] == far.id


async def test_similar_to_another_owners_or_an_unknown_file_is_not_found(api: Api) -> None:
    theirs = await stored_ready(api, BASE_HASH, owner="user:bob")
    problem(await similar(api, f"similar_to={theirs.id}"), 404, "FILE_NOT_FOUND")
    problem(await similar(api, "similar_to=nothing-here"), 404, "FILE_NOT_FOUND")


async def test_similar_to_a_file_without_a_hash_is_not_ready(api: Api) -> None:
    registered = (await register(api, images.jpeg_bytes())).json()
    problem(await similar(api, f"similar_to={registered['id']}"), 409, "NOT_READY")
    unhashed = await stored_ready(api, None)
    problem(await similar(api, f"similar_to={unhashed.id}"), 409, "NOT_READY")


async def test_similar_to_a_deleted_file_is_not_ready(api: Api) -> None:
    record = await stored_ready(api, BASE_HASH)
    deleted = dataclasses.replace(record, id="d" * 32, object_key="x/" + "d" * 32)
    await api.runtime.repository.add(dataclasses.replace(deleted, state=FileState.DELETED))
    problem(await similar(api, f"similar_to={deleted.id}"), 409, "NOT_READY")


@pytest.mark.parametrize(
    "query",
    [
        "similar_to={id}&state=ready",
        "similar_to={id}&cursor=abc",
        "max_distance=3",
        "similar_to={id}&max_distance=65",
        "similar_to={id}&max_distance=-1",
        "similar_to={id}&max_distance=ten",
        "similar_to=",
    ],
    ids=["with-state", "with-cursor", "distance-alone", "over-64", "negative", "text", "empty"],
)
async def test_senseless_similar_queries_are_validation_errors(api: Api, query: str) -> None:
    source = await stored_ready(api, BASE_HASH)
    problem(await similar(api, query.format(id=source.id)), 422, "VALIDATION_ERROR")


async def test_similar_files_carry_their_print_fitness(api: Api) -> None:
    source = await stored_ready(api, BASE_HASH)
    printed = await stored_ready(api, BASE_HASH ^ 1, minutes=2)
    await api.patch(printed.id, {"print": {"width_mm": 256.032, "height_mm": 341.376}})
    files = (await similar(api, f"similar_to={source.id}")).json()["files"]
    by_id = {f["id"]: f for f in files}
    # 3024 x 4032 px on 10.08 x 13.44 in: 300 dpi on both axes.
    assert by_id[printed.id]["print_fitness"] == {"effective_dpi": 300, "verdict": "good"}
