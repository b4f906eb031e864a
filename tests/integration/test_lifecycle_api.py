"""Retention, history, quotas and deduplication over the real app in-process (real SQLite,
the real local store and decode pool), with an injected clock.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from filegate.bootstrap.runtime import Runtime, open_runtime
from filegate.config import Settings
from filegate.domain.clock import ManualClock
from filegate.domain.models import Owner, OwnerKind
from filegate.worker.settlement import settle
from tests.support import images

BASE = "http://testserver"
SECRET = "lifecycle-api-test-secret-32-chars"
HOUR = timedelta(hours=1)


@pytest.fixture(autouse=True)
def no_filegate_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("FILEGATE_"):
            monkeypatch.delenv(name)


class Api:
    """The app of a runtime on a manual clock, and tokens for alice and bob."""

    def __init__(self, runtime: Runtime, client: httpx.AsyncClient, clock: ManualClock) -> None:
        self.runtime = runtime
        self.client = client
        self.clock = clock
        self.alice = self.auth_for("alice")
        self.bob = self.auth_for("bob")

    def auth_for(self, user: str) -> dict[str, str]:
        token = self.runtime.tokens.mint(Owner(OwnerKind.USER, user), timedelta(days=30))
        return {"Authorization": f"Bearer {token}"}

    def at(self, delta: timedelta) -> str:
        return (self.clock.now() + delta).isoformat()

    async def register(
        self, data: bytes, auth: dict[str, str] | None = None, expect: int = 201
    ) -> dict[str, Any]:
        body = {
            "filename": "photo.jpg",
            "content_type": "image/jpeg",
            "size": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
        }
        response = await self.client.post("/v1/files", json=body, headers=auth or self.alice)
        assert response.status_code == expect, response.text
        result: dict[str, Any] = response.json()
        return result

    async def ready_file(self, data: bytes, auth: dict[str, str] | None = None) -> dict[str, Any]:
        file = await self.register(data, auth)
        upload = file["upload"]
        put = await self.client.put(upload["url"], headers=upload["headers"], content=data)
        assert put.status_code == 200, put.text
        await self.work()
        current = await self.get(file["id"], auth)
        assert current["state"] == "ready", current
        return current

    async def get(self, file_id: str, auth: dict[str, str] | None = None) -> dict[str, Any]:
        response = await self.client.get(f"/v1/files/{file_id}", headers=auth or self.alice)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    async def patch(self, file_id: str, body: object) -> httpx.Response:
        return await self.client.patch(f"/v1/files/{file_id}", json=body, headers=self.alice)

    async def work(self) -> None:
        """Handle everything queued, as the worker would."""
        queue = self.runtime.queue
        while messages := await queue.receive(10, timedelta(minutes=1), timedelta(0)):
            await settle(queue, await self.runtime.processor().process(messages))


@asynccontextmanager
async def running_api(data_dir: Path, **overrides: Any) -> AsyncIterator[Api]:
    settings = Settings(
        data_dir=data_dir,
        secret=SecretStr(SECRET),
        public_url=BASE,
        decode_workers=1,
        max_retention_days=30,
        **overrides,
    )
    clock = ManualClock(datetime(2026, 3, 1, tzinfo=UTC))
    async with open_runtime(settings, clock) as runtime:
        transport = httpx.ASGITransport(app=runtime.app(), raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
            yield Api(runtime, client, clock)


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    async with running_api(tmp_path / "data") as running:
        yield running


def problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["code"] == code
    return body


# -- retention ---------------------------------------------------------------------------


async def test_a_file_shows_its_retention_and_a_patch_changes_it(api: Api) -> None:
    file = await api.register(images.jpeg_bytes())
    assert (file["retain_until"], file["pinned"], file["deduplicated"]) == (None, False, False)

    deadline = await api.patch(file["id"], {"retain_until": api.at(2 * HOUR)})
    assert deadline.status_code == 200, deadline.text
    assert datetime.fromisoformat(deadline.json()["retain_until"]) == api.clock.now() + 2 * HOUR

    pinned = await api.patch(file["id"], {"pinned": True})
    assert (pinned.json()["pinned"], pinned.json()["retain_until"]) == (
        True,
        deadline.json()["retain_until"],
    )
    cleared = await api.patch(file["id"], {"retain_until": None, "pinned": False})
    assert (cleared.json()["retain_until"], cleared.json()["pinned"]) == (None, False)
    assert (await api.get(file["id"]))["pinned"] is False


@pytest.mark.parametrize(
    "body",
    [
        {"retain_until": "2020-01-01T00:00:00Z"},
        {"retain_until": "2026-12-31T00:00:00Z"},
        {"retain_until": "2026-03-02T00:00:00"},
        {"retain_until": "tomorrow"},
        {"pinned": "yes"},
        {},
        {"pinned": True, "extra": 1},
    ],
    ids=["past", "too-far", "naive", "not-a-time", "not-a-bool", "empty", "extra-field"],
)
async def test_bad_retention_changes_are_validation_errors(api: Api, body: object) -> None:
    file = await api.register(images.jpeg_bytes())
    problem(await api.patch(file["id"], body), 422, "VALIDATION_ERROR")


async def test_a_far_deadline_is_accepted_for_a_pinned_file(api: Api) -> None:
    file = await api.register(images.jpeg_bytes())
    response = await api.patch(file["id"], {"retain_until": "2030-01-01T00:00:00Z", "pinned": True})
    assert response.status_code == 200, response.text


async def test_retention_is_the_owners_alone(api: Api) -> None:
    file = await api.register(images.jpeg_bytes())
    other = await api.client.patch(
        f"/v1/files/{file['id']}", json={"pinned": True}, headers=api.bob
    )
    problem(other, 404, "FILE_NOT_FOUND")
    anonymous = await api.client.patch(f"/v1/files/{file['id']}", json={"pinned": True})
    problem(anonymous, 401, "UNAUTHENTICATED")


async def test_a_batch_answers_each_item_in_order(api: Api) -> None:
    mine = await api.register(images.jpeg_bytes())
    theirs = await api.register(images.jpeg_bytes(32, 32), api.bob)
    body = {
        "files": [
            {"id": mine["id"], "pinned": True},
            {"id": theirs["id"], "pinned": True},
            {"id": mine["id"], "retain_until": "2020-01-01T00:00:00Z"},
            {"pinned": True},
        ]
    }
    response = await api.client.patch("/v1/files", json=body, headers=api.alice)
    assert response.status_code == 200, response.text
    first, *errors = response.json()["files"]
    assert (first["id"], first["pinned"]) == (mine["id"], True)
    assert [e["error"]["code"] for e in errors] == [
        "FILE_NOT_FOUND",
        "VALIDATION_ERROR",
        "VALIDATION_ERROR",
    ]


async def test_a_batch_over_the_limit_is_refused_whole(tmp_path: Path) -> None:
    async with running_api(tmp_path / "data", max_batch_registrations=2) as api:
        items = [{"id": "x", "pinned": True}] * 3
        response = await api.client.patch("/v1/files", json={"files": items}, headers=api.alice)
        assert problem(response, 422, "VALIDATION_ERROR")["limit"] == 2


async def test_the_lifecycle_deletes_a_file_past_its_deadline_and_spares_pinned_ones(
    api: Api,
) -> None:
    doomed = await api.ready_file(images.jpeg_bytes(40, 30))
    pinned = await api.ready_file(images.jpeg_bytes(30, 40))
    await api.patch(doomed["id"], {"retain_until": api.at(HOUR)})
    await api.patch(pinned["id"], {"retain_until": api.at(HOUR), "pinned": True})
    api.clock.advance(2 * HOUR)

    sweep = await api.runtime.upkeep.lifecycle.sweep()
    await api.work()

    assert (sweep.due, sweep.messages) == (1, 1)
    assert (await api.get(doomed["id"]))["state"] == "deleted"
    assert (await api.get(pinned["id"]))["state"] == "ready"
    local = api.runtime.store.served
    assert local is not None
    assert not await local.exists(_key_of(api, doomed))
    assert await local.exists(_key_of(api, pinned))
    late = await api.patch(doomed["id"], {"pinned": True})
    problem(late, 409, "INVALID_STATE")


def _key_of(api: Api, file: dict[str, Any]) -> str:
    owner_hash = hashlib.sha256(b"user:alice").hexdigest()[:16]
    return f"{owner_hash}/{file['id']}"


# -- history -----------------------------------------------------------------------------


async def test_history_lists_every_transition_for_the_owner_only(api: Api) -> None:
    file = await api.ready_file(images.jpeg_bytes())
    response = await api.client.get(f"/v1/files/{file['id']}/history", headers=api.alice)
    assert response.status_code == 200, response.text
    steps = response.json()["transitions"]
    assert [(s["from"], s["to"], s["reason"], s["actor"]) for s in steps] == [
        (None, "registered", None, "api"),
        ("registered", "uploaded", None, "store"),
        ("uploaded", "ready", None, "worker"),
    ]
    assert all(datetime.fromisoformat(s["at"]).utcoffset() == timedelta(0) for s in steps)

    other = await api.client.get(f"/v1/files/{file['id']}/history", headers=api.bob)
    problem(other, 404, "FILE_NOT_FOUND")
    missing = await api.client.get("/v1/files/nope/history", headers=api.alice)
    problem(missing, 404, "FILE_NOT_FOUND")


# -- quotas ------------------------------------------------------------------------------


async def test_over_the_file_quota_is_413_with_limit_and_usage(tmp_path: Path) -> None:
    async with running_api(tmp_path / "data", quota_max_files=1) as api:
        await api.register(images.jpeg_bytes())
        refused = await api.client.post(
            "/v1/files",
            json={"filename": "b.jpg", "content_type": "image/jpeg", "size": 10},
            headers=api.alice,
        )
        body = problem(refused, 413, "QUOTA_EXCEEDED")
        assert (body["quota"], body["limit"], body["usage"]) == ("files", 1, 1)
        await api.register(images.jpeg_bytes(), api.bob)  # per owner


async def test_over_the_pending_quota_is_429_and_batches_refuse_per_item(tmp_path: Path) -> None:
    async with running_api(tmp_path / "data", quota_max_pending=2) as api:
        item = {"filename": "a.jpg", "content_type": "image/jpeg", "size": 10}
        response = await api.client.post(
            "/v1/files/batch", json={"files": [item] * 3}, headers=api.alice
        )
        assert response.status_code == 201, response.text
        results = response.json()["files"]
        assert ["error" in r for r in results] == [False, False, True]
        error = results[2]["error"]
        assert (error["status"], error["code"], error["limit"], error["usage"]) == (
            429,
            "TOO_MANY_PENDING",
            2,
            2,
        )
        usage = await api.client.get("/v1/usage", headers=api.alice)
        assert usage.json() == {
            "usage": {"pending": 2, "files": 2, "bytes": 20},
            "limits": {"max_pending": 2, "max_files": 0, "max_bytes": 0},
        }


# -- deduplication -----------------------------------------------------------------------


async def test_registering_known_bytes_returns_the_ready_file(api: Api) -> None:
    data = images.jpeg_bytes()
    ready = await api.ready_file(data)

    again = await api.register(data)
    assert (again["id"], again["state"], again["deduplicated"], again["upload"]) == (
        ready["id"],
        "ready",
        True,
        None,
    )
    theirs = await api.register(data, api.bob)
    assert (theirs["deduplicated"], theirs["state"]) == (False, "registered")
    assert theirs["upload"] is not None


async def test_deduplication_can_be_turned_off(tmp_path: Path) -> None:
    async with running_api(tmp_path / "data", dedupe=False) as api:
        data = images.jpeg_bytes()
        ready = await api.ready_file(data)
        again = await api.register(data)
        assert (again["deduplicated"], again["id"] != ready["id"]) == (False, True)
