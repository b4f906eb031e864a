"""``GET /v1/events`` over real HTTP: the real app (SQLite, the local store, the SQL event
log) served by uvicorn on loopback, streamed with httpx; the worker is driven one batch at
a time. The stream across two API processes on PostgreSQL is at the end of the file."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from pydantic import SecretStr

from filegate.bootstrap.policies import api_settings
from filegate.bootstrap.runtime import open_runtime
from filegate.config import Settings
from tests.e2e import flow
from tests.e2e.server import free_port, run_command, running_server
from tests.integration.test_app_inprocess import (  # the autouse fixture clears FILEGATE_*
    APP_ORIGIN,
    SECRET,
    Api,
    assert_problem,
    no_filegate_environment,  # noqa: F401
)
from tests.support import images
from tests.support.sse import Frame, SseReader

READ_TIMEOUT = 15.0
"""Longest wait for a frame that must come (verification takes well under a second)."""
KEEPALIVE_SECONDS = 0.3


@asynccontextmanager
async def serving(data_dir: Path, **overrides: Any) -> AsyncIterator[Api]:
    """The runtime's app on a loopback port, and an ``Api`` (user alice) talking to it."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings = Settings(
        data_dir=data_dir,
        secret=SecretStr(SECRET),
        public_url=base,
        decode_workers=1,
        dedupe=False,
        **{"event_stream_keepalive_seconds": KEEPALIVE_SECONDS, **overrides},
    )
    async with open_runtime(settings) as runtime:
        config = uvicorn.Config(runtime.app(), host="127.0.0.1", port=port, log_level="warning")
        server = uvicorn.Server(config)
        task = asyncio.create_task(server.serve())
        try:
            while not server.started:
                assert not task.done(), "uvicorn did not start"
                await asyncio.sleep(0.01)
            async with httpx.AsyncClient(base_url=base, timeout=READ_TIMEOUT) as client:
                yield Api(runtime, client)
        finally:
            server.should_exit = True
            await task


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    async with serving(tmp_path / "data") as running:
        yield running


def as_user(api: Api, user: str) -> Api:
    """The same app and client, acting for ``user``."""
    other = Api(api.runtime, api.client)
    other.auth = api.auth_for(user)
    return other


async def verified(api: Api, data: bytes | None = None) -> str:
    """Register and upload ``data`` (a JPEG by default), run the worker once: the file id."""
    data = data if data is not None else images.jpeg_bytes(40, 30)
    file = await api.register(data)
    assert (await api.upload(file, data)).status_code == 200
    await api.run_worker_once()
    file_id: str = file["id"]
    return file_id


@asynccontextmanager
async def stream(
    api: Api, headers: dict[str, str] | None = None, **params: str
) -> AsyncIterator[tuple[httpx.Response, SseReader]]:
    """An open event stream of ``api``'s user, once its opening frame has arrived."""
    request = api.client.stream(
        "GET", "/v1/events", headers={**api.auth, **(headers or {})}, params=params
    )
    async with request as response:
        assert response.status_code == 200, await response.aread()
        reader = SseReader(response)
        opening = await read(reader.frame())
        assert opening is not None and opening.get("retry") is not None
        yield response, reader


async def read(awaitable: Any) -> Any:
    async with asyncio.timeout(READ_TIMEOUT):
        return await awaitable


def subjects(frames: list[Frame]) -> list[str]:
    return [frame.data["data"]["id"] for frame in frames]


# -- what a stream carries ---------------------------------------------------------------------


async def test_a_stream_sees_its_uploaded_file_become_ready(api: Api) -> None:
    async with stream(api) as (response, reader):
        file_id = await verified(api)
        event = await read(reader.event())

    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["x-accel-buffering"] == "no"
    assert event.get("event") == "file.ready"
    assert event.get("id")
    body = event.data
    assert body["type"] == "file.ready"
    assert (body["data"]["id"], body["data"]["state"]) == (file_id, "ready")
    assert body["data"] == await api.file(file_id)  # the file exactly as the API shows it


async def test_a_stream_never_carries_another_owners_events(api: Api) -> None:
    bob = as_user(api, "bob")
    async with stream(api) as (_, alices), stream(bob) as (_, bobs):
        bobs_file = await verified(bob)
        alices_file = await verified(api)
        # Bob's event was committed first: had it reached alice, it would come first.
        assert subjects([await read(alices.event())]) == [alices_file]
        assert subjects([await read(bobs.event())]) == [bobs_file]


async def test_types_selects_the_events_sent(api: Api) -> None:
    async with stream(api, types="file.rejected") as (_, reader):
        await verified(api)  # ready: not wanted
        rejected = await verified(api, images.text_bytes())
        event = await read(reader.event())

    assert (event.get("event"), subjects([event])) == ("file.rejected", [rejected])


async def test_an_unknown_type_is_a_validation_error(api: Api) -> None:
    response = await api.client.get(
        "/v1/events", params={"types": "file.ready,file.exploded"}, headers=api.auth
    )
    body = assert_problem(response, 422, "VALIDATION_ERROR")
    assert "file.exploded" in body["detail"]


# -- resuming ----------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["header", "query"])
async def test_a_resumed_stream_gets_exactly_the_missed_events(api: Api, how: str) -> None:
    async with stream(api) as (_, reader):
        first = await verified(api)
        seen = await read(reader.event())
    assert subjects([seen]) == [first]
    missed = [await verified(api) for _ in range(3)]  # while no stream is open

    last_id = seen.get("id") or ""
    headers = {"Last-Event-ID": last_id} if how == "header" else {}
    params = {"last_event_id": last_id} if how == "query" else {}
    async with stream(api, headers, **params) as (_, reader):
        replayed = await read(reader.events(3))
        later = await verified(api)
        following = await read(reader.event())

    assert subjects(replayed) == missed  # none lost, in order
    assert subjects([following]) == [later]  # and none twice before the live one
    ids = [frame.get("id") for frame in [seen, *replayed, following]]
    assert len(set(ids)) == len(ids)


async def test_a_stream_cut_before_any_event_resumes_from_its_opening_id(api: Api) -> None:
    request = api.client.stream("GET", "/v1/events", headers=api.auth)
    async with request as response:
        opening = await read(SseReader(response).frame())
    missed = await verified(api)

    resume = {"Last-Event-ID": opening.get("id")}
    async with stream(api, headers=resume) as (_, reader):
        assert subjects([await read(reader.event())]) == [missed]


@pytest.mark.parametrize("cursor", ["not-a-cursor", "-1", "1" * 300, "@@"])
async def test_a_malformed_last_event_id_is_invalid_cursor(api: Api, cursor: str) -> None:
    header = {**api.auth, "Last-Event-ID": cursor}
    assert_problem(await api.client.get("/v1/events", headers=header), 400, "INVALID_CURSOR")
    query = await api.client.get("/v1/events", params={"last_event_id": cursor}, headers=api.auth)
    assert_problem(query, 400, "INVALID_CURSOR")


# -- pacing and rights ---------------------------------------------------------------------------


async def test_an_idle_stream_sends_keep_alive_comments(api: Api) -> None:
    async with stream(api) as (_, reader):
        frame = await read(reader.frame())
    assert frame is not None
    assert frame.fields == [("", "keep-alive")]


async def test_a_stream_ends_after_its_maximum_duration(tmp_path: Path) -> None:
    async with serving(tmp_path / "data", event_stream_max_seconds=1.0) as api:
        began = time.monotonic()
        async with stream(api) as (_, reader):
            while await read(reader.frame()) is not None:
                pass
        assert time.monotonic() - began >= 1.0


async def test_a_disconnected_client_leaves_no_stream_running(tmp_path: Path) -> None:
    # Nothing is written for a minute: only the disconnect itself can end the stream soon.
    async with serving(tmp_path / "data", event_stream_keepalive_seconds=60) as api:
        async with stream(api):
            assert streaming_tasks()
        async with asyncio.timeout(READ_TIMEOUT):
            while streaming_tasks():
                await asyncio.sleep(0.05)


def streaming_tasks() -> list[asyncio.Task[Any]]:
    """Tasks of this loop still answering a request (uvicorn runs one per request, and the
    response's body inside it)."""
    return [task for task in asyncio.all_tasks() if "run_asgi" in repr(task.get_coro())]


async def test_an_upload_grant_may_not_follow_the_stream(api: Api) -> None:
    issued = await api.client.post("/v1/upload-grants", json={}, headers=api.auth)
    assert issued.status_code == 201, issued.text
    grant = {"Authorization": f"Bearer {issued.json()['token']}"}
    assert_problem(await api.client.get("/v1/events", headers=grant), 403, "FORBIDDEN")
    assert_problem(await api.client.get("/v1/events"), 401, "UNAUTHENTICATED")


async def test_a_page_of_another_origin_may_send_last_event_id(tmp_path: Path) -> None:
    async with serving(tmp_path / "data", cors_origins=(APP_ORIGIN,)) as api:
        preflight = await api.client.options(
            "/v1/events",
            headers={
                "Origin": APP_ORIGIN,
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "authorization,last-event-id",
            },
        )
    assert preflight.status_code == 200, preflight.text
    assert "last-event-id" in preflight.headers["access-control-allow-headers"].lower()


async def test_the_openapi_document_describes_the_stream(api: Api) -> None:
    spec = (await api.client.get("/openapi.json")).json()
    operation = spec["paths"]["/v1/events"]["get"]
    assert list(operation["responses"]["200"]["content"]) == ["text/event-stream"]
    names = {p["name"] for p in operation["parameters"]}
    assert names == {"types", "last_event_id", "Last-Event-ID"}
    codes = operation["responses"]["400"]["content"]["application/problem+json"]
    assert codes["schema"]["allOf"][1]["properties"]["code"]["enum"] == ["INVALID_CURSOR"]


# -- two API processes on PostgreSQL ------------------------------------------------------------


@pytest.fixture
def two_apis(tmp_path: Path, postgres_url: str) -> Iterator[tuple[str, str, str]]:
    """Two ``filegate serve`` processes on one PostgreSQL database (and one local store):
    the first with the worker, the second without. Their URLs and alice's token."""
    data_dir = tmp_path / "data"
    env = {"FILEGATE_DATABASE_URL": postgres_url, "FILEGATE_BATCH_WINDOW_SECONDS": "0.1"}
    with (
        running_server(data_dir, env) as first,
        running_server(data_dir, env, args=("--no-worker",)) as second,
    ):
        token = run_command(data_dir, env, "token", "--user", "alice").strip()
        yield first.url, second.url, token


@pytest.mark.postgres
@pytest.mark.e2e
async def test_an_event_committed_by_one_process_reaches_a_stream_on_another(
    two_apis: tuple[str, str, str],
) -> None:
    uploader_url, streamer_url, token = two_apis
    async with (
        httpx.AsyncClient(timeout=READ_TIMEOUT) as client,
        client.stream("GET", f"{streamer_url}/v1/events", headers=flow.auth(token)) as response,
    ):
        reader = SseReader(response)
        assert response.status_code == 200
        await read(reader.frame())  # open: its cursor is taken
        file = await asyncio.to_thread(send_photo, uploader_url, token)
        event = await read(reader.event())  # verified by the first process's worker

    assert (event.get("event"), subjects([event])) == ("file.ready", [file["id"]])


def send_photo(base: str, token: str) -> dict[str, Any]:
    """Register and upload a photo through ``base``, as a client would: the file."""
    data = images.jpeg_bytes(40, 30)
    with httpx.Client(timeout=READ_TIMEOUT) as http:
        file = flow.register(http, base, token, data)
        assert flow.upload(http, file, data).status_code == 200
    return file


def test_the_settings_pace_the_stream() -> None:
    settings = Settings(
        secret=SecretStr(SECRET), event_stream_max_seconds=42, event_stream_keepalive_seconds=7
    )
    pacing = api_settings(settings).event_stream
    assert (pacing.max_duration, pacing.keepalive) == (timedelta(seconds=42), timedelta(seconds=7))
