"""The real app in-process: real SQLite, the real local store and decode pool, no sockets.

Requests go through ``httpx.ASGITransport``; uploads use the signed URLs the API returns
(their host is the test client's). The worker is driven one batch at a time: receive from
the runtime's queue, process with the real ``BatchProcessor`` over the real ``Verifier``,
settle. Errors surface as responses (``raise_app_exceptions=False``), so a 500 is seen as one.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from filegate.bootstrap.runtime import Runtime, open_runtime
from filegate.config import Settings
from filegate.domain.models import Owner, OwnerKind
from filegate.worker.batch import BatchProcessor, BatchResult
from filegate.worker.retry import RetryPolicy
from filegate.worker.settlement import settle
from tests.support import images

BASE = "http://testserver"
SECRET = "in-process-test-secret-32-chars!"
APP_ORIGIN = "https://app.example"
PROBLEM_JSON = "application/problem+json"


@pytest.fixture(autouse=True)
def no_filegate_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings read ``FILEGATE_*``: these tests see only what they pass."""
    for name in list(os.environ):
        if name.startswith("FILEGATE_"):
            monkeypatch.delenv(name)


class Api:
    """A runtime, an in-process client for its app, and a token for user alice."""

    def __init__(self, runtime: Runtime, client: httpx.AsyncClient) -> None:
        self.runtime = runtime
        self.client = client
        self.auth = self.auth_for("alice")

    def auth_for(self, user: str) -> dict[str, str]:
        token = self.runtime.tokens.mint(Owner(OwnerKind.USER, user), timedelta(hours=1))
        return {"Authorization": f"Bearer {token}"}

    async def register(self, data: bytes, content_type: str = "image/jpeg") -> dict[str, Any]:
        body = {
            "filename": "Café photo.jpg",
            "content_type": content_type,
            "size": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
        }
        response = await self.client.post("/v1/files", json=body, headers=self.auth)
        assert response.status_code == 201, response.text
        registered: dict[str, Any] = response.json()
        return registered

    async def upload(self, file: dict[str, Any], data: bytes) -> httpx.Response:
        instructions = file["upload"]
        return await self.client.request(
            instructions["method"],
            instructions["url"],
            headers=instructions["headers"],
            content=data,
        )

    async def file(self, file_id: str) -> dict[str, Any]:
        response = await self.client.get(f"/v1/files/{file_id}", headers=self.auth)
        assert response.status_code == 200, response.text
        current: dict[str, Any] = response.json()
        return current

    async def run_worker_once(self) -> BatchResult:
        """One batch of the worker: receive what is queued, verify, settle."""
        queue = self.runtime.queue
        messages = await queue.receive(10, timedelta(minutes=1), timedelta(0))
        retry = RetryPolicy(base=timedelta(seconds=1), cap=timedelta(seconds=10))
        result = await BatchProcessor(self.runtime.verifier, retry).process(messages)
        await settle(queue, result)
        return result


@asynccontextmanager
async def running_api(data_dir: Path, **overrides: Any) -> AsyncIterator[Api]:
    settings = Settings(
        data_dir=data_dir,
        secret=SecretStr(SECRET),
        public_url=BASE,
        decode_workers=1,
        **overrides,
    )
    async with open_runtime(settings) as runtime:
        transport = httpx.ASGITransport(app=runtime.app(), raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
            yield Api(runtime, client)


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    async with running_api(tmp_path / "data") as running:
        yield running


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    body: dict[str, Any] = response.json()
    assert (body["status"], body["code"]) == (status, code)
    assert {"type", "title", "detail"} <= body.keys()
    return body


# -- the life of a file --------------------------------------------------------------------


async def test_an_upload_becomes_ready_and_downloads_byte_identical(api: Api) -> None:
    data = images.jpeg_bytes(64, 48)
    file = await api.register(data)
    assert file["state"] == "registered"

    uploaded = await api.upload(file, data)
    assert uploaded.status_code == 200, uploaded.text
    assert (await api.file(file["id"]))["state"] == "uploaded"

    result = await api.run_worker_once()
    assert len(result.succeeded) == len(result.outcomes) == 1

    ready = await api.file(file["id"])
    assert (ready["state"], ready["reason"], ready["content_type"]) == (
        "ready",
        None,
        "image/jpeg",
    )
    assert (ready["image"]["width"], ready["image"]["height"]) == (64, 48)
    assert ready["sha256"] == hashlib.sha256(data).hexdigest()

    redirect = await api.client.get(f"/v1/files/{file['id']}/content", headers=api.auth)
    assert redirect.status_code == 307
    assert redirect.headers["cache-control"] == "no-store"
    location = redirect.headers["location"]
    assert location.startswith(f"{BASE}/store/")

    download = await api.client.get(location)  # the signed URL needs no token
    assert download.status_code == 200
    assert download.content == data
    assert download.headers["content-type"] == "image/jpeg"
    assert "filename*=UTF-8''Caf%C3%A9%20photo.jpg" in download.headers["content-disposition"]

    depth = await api.runtime.queue.depth()
    assert (depth.visible, depth.in_flight, depth.dead) == (0, 0, 0)


async def test_bytes_of_another_type_are_rejected_and_not_downloadable(api: Api) -> None:
    data = images.png_bytes()
    file = await api.register(data, content_type="image/jpeg")
    assert (await api.upload(file, data)).status_code == 200

    await api.run_worker_once()

    rejected = await api.file(file["id"])
    assert (rejected["state"], rejected["reason"]) == ("rejected", "TYPE_MISMATCH")
    response = await api.client.get(f"/v1/files/{file['id']}/content", headers=api.auth)
    assert_problem(response, 409, "NOT_READY")


async def test_complete_after_the_upload_is_idempotent(api: Api) -> None:
    data = images.jpeg_bytes()
    file = await api.register(data)
    premature = await api.client.post(f"/v1/files/{file['id']}/complete", headers=api.auth)
    assert_problem(premature, 409, "UPLOAD_INCOMPLETE")
    await api.upload(file, data)

    completed = await api.client.post(f"/v1/files/{file['id']}/complete", headers=api.auth)

    assert (completed.status_code, completed.json()["state"]) == (202, "uploaded")
    assert len((await api.run_worker_once()).outcomes) == 1  # one event, not two


async def test_a_deleted_file_is_gone_for_good(api: Api) -> None:
    data = images.jpeg_bytes()
    file = await api.register(data)
    await api.upload(file, data)
    await api.run_worker_once()

    deleted = await api.client.delete(f"/v1/files/{file['id']}", headers=api.auth)
    again = await api.client.delete(f"/v1/files/{file['id']}", headers=api.auth)

    assert (deleted.status_code, again.status_code) == (204, 204)
    assert (await api.file(file["id"]))["state"] == "deleted"
    assert list((api.runtime.settings.data_dir / "objects").rglob(file["id"] + "*")) == []


async def test_upload_urls_are_renewable_until_the_bytes_arrive_once(api: Api) -> None:
    data = images.jpeg_bytes()
    file = await api.register(data)
    renew = f"/v1/files/{file['id']}/upload-url"

    fresh = await api.client.post(renew, headers=api.auth)
    assert fresh.status_code == 200
    assert (await api.upload({"upload": fresh.json()["upload"]}, data)).status_code == 200

    assert_problem(await api.upload(file, data), 409, "ALREADY_UPLOADED")
    assert_problem(await api.client.post(renew, headers=api.auth), 409, "INVALID_STATE")


async def test_a_long_poll_returns_the_state_when_its_time_is_up(api: Api) -> None:
    file = await api.register(images.jpeg_bytes())
    url = f"/v1/files/{file['id']}"

    waited = await api.client.get(url, params={"wait": 0.05}, headers=api.auth)

    assert (waited.status_code, waited.json()["state"]) == (200, "registered")
    too_long = await api.client.get(url, params={"wait": 31}, headers=api.auth)
    assert_problem(too_long, 422, "VALIDATION_ERROR")


async def test_listing_pages_through_the_owners_files(api: Api) -> None:
    created = [(await api.register(images.jpeg_bytes()))["id"] for _ in range(3)]
    await api.client.post(
        "/v1/files",
        json={"filename": "x.png", "content_type": "image/png", "size": 1},
        headers=api.auth_for("bob"),
    )

    seen: list[str] = []
    params: dict[str, str | int] = {"limit": 2}
    while True:
        page = (await api.client.get("/v1/files", params=params, headers=api.auth)).json()
        seen += [f["id"] for f in page["files"]]
        if page["next_cursor"] is None:
            break
        params["cursor"] = page["next_cursor"]

    assert sorted(seen) == sorted(created)


async def test_another_owners_file_is_not_found(api: Api) -> None:
    file = await api.register(images.jpeg_bytes())
    response = await api.client.get(f"/v1/files/{file['id']}", headers=api.auth_for("mallory"))
    assert_problem(response, 404, "FILE_NOT_FOUND")


# -- cross-cutting HTTP behaviour ----------------------------------------------------------


def preflight(origin: str) -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type",
    }


async def test_cors_preflight_is_allowed_for_a_configured_origin_only(tmp_path: Path) -> None:
    async with running_api(tmp_path / "data", cors_origins=(APP_ORIGIN,)) as api:
        allowed = await api.client.options("/v1/files", headers=preflight(APP_ORIGIN))
        refused = await api.client.options("/v1/files", headers=preflight("https://evil.example"))
        simple = await api.client.get("/healthz", headers={"Origin": APP_ORIGIN})

    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == APP_ORIGIN
    assert "authorization" in allowed.headers["access-control-allow-headers"].lower()
    assert "access-control-allow-origin" not in refused.headers
    assert simple.headers["access-control-allow-origin"] == APP_ORIGIN


async def test_without_configured_origins_no_cors_headers_are_sent(api: Api) -> None:
    response = await api.client.options("/v1/files", headers=preflight(APP_ORIGIN))
    assert "access-control-allow-origin" not in response.headers


@pytest.mark.parametrize("path", ["/healthz", "/nope"])
async def test_a_well_formed_request_id_is_echoed(api: Api, path: str) -> None:
    response = await api.client.get(path, headers={"X-Request-ID": "client-id_1.2"})
    assert response.headers["x-request-id"] == "client-id_1.2"


@pytest.mark.parametrize("incoming", ["has space", "x" * 65, "", "semi;colon", "ünïcode"])
async def test_a_malformed_request_id_is_replaced(api: Api, incoming: str) -> None:
    response = await api.client.get("/healthz", headers=[(b"X-Request-ID", incoming.encode())])
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])


async def test_every_response_gets_a_fresh_request_id(api: Api) -> None:
    ids = {(await api.client.get("/healthz")).headers["x-request-id"] for _ in range(3)}
    assert len(ids) == 3


async def test_readiness_reports_every_backend(api: Api) -> None:
    response = await api.client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ready",
        "checks": {"database": "ok", "store": "ok", "queue": "ok"},
    }


async def test_an_unknown_route_is_a_problem(api: Api) -> None:
    assert_problem(await api.client.get("/nope"), 404, "NOT_FOUND")


async def test_a_wrong_method_is_a_problem_naming_the_allowed_ones(api: Api) -> None:
    response = await api.client.put("/v1/files/abc", headers=api.auth)
    assert_problem(response, 405, "METHOD_NOT_ALLOWED")
    # Starlette names the methods of the first route on the path only (GET, not DELETE).
    assert "GET" in response.headers["allow"]


@pytest.mark.parametrize(
    "body",
    [
        {"content_type": "image/jpeg", "size": 5},
        {"filename": "a.jpg", "content_type": "image/jpeg", "size": -1},
        {"filename": "a.jpg", "content_type": "image/jpeg", "size": 5, "extra": 1},
        [],
    ],
)
async def test_a_malformed_body_is_a_validation_problem(api: Api, body: object) -> None:
    response = await api.client.post("/v1/files", json=body, headers=api.auth)
    problem = assert_problem(response, 422, "VALIDATION_ERROR")
    assert problem["errors"]


async def test_a_request_without_a_token_is_unauthenticated(api: Api) -> None:
    response = await api.client.get("/v1/files")
    assert_problem(response, 401, "UNAUTHENTICATED")
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("bad", ["?limit=0", "?limit=abc", "?state=bogus", "?cursor=%21%21"])
async def test_bad_listing_parameters_are_validation_problems(api: Api, bad: str) -> None:
    response = await api.client.get(f"/v1/files{bad}", headers=api.auth)
    assert_problem(response, 422, "VALIDATION_ERROR")


# -- no input makes the registration endpoints fail ----------------------------------------

# JSON escapes can carry lone surrogates, which are not UTF-8: make them common.
_characters = st.characters() | st.characters(categories=["Cs"])
_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()  # NaN and infinities too: Python's JSON parser accepts them
    | st.text(_characters, max_size=20)
)
_json_values = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(_characters, max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
_deep = st.integers(1, 400).map(lambda n: json.loads("[" * n + "]" * n))
_metadata = st.dictionaries(st.text(_characters, max_size=5), _json_values | _deep, max_size=3)
_valid_fields = {
    "filename": st.text(st.characters(), min_size=1, max_size=30),
    "content_type": st.sampled_from(["image/jpeg", "image/png", " IMAGE/PNG", "text/plain"]),
    "size": st.integers(1, 10**6),
}
_optional_fields = {
    "sha256": st.text("0123456789abcdefABCDEF", min_size=64, max_size=64),
    "metadata": _metadata,
}
_plausible = st.fixed_dictionaries(_valid_fields, optional=_optional_fields)
_one_field_off = st.builds(
    lambda document, name, value: {**document, name: value},
    _plausible,
    st.sampled_from([*_valid_fields, *_optional_fields, "unexpected"]),
    _json_values | st.integers(-(2**70), 2**70),
)
_registrations = _plausible | _one_field_off | _json_values
_documents = {
    "/v1/files": _registrations,
    "/v1/files/batch": st.fixed_dictionaries({"files": st.lists(_registrations, max_size=4)})
    | _json_values,
}
_limits = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


async def assert_201_or_problem(api: Api, path: str, body: bytes) -> None:
    headers = {**api.auth, "Content-Type": "application/json"}

    response = await api.client.post(path, content=body, headers=headers)

    assert response.status_code < 500, response.text
    if response.status_code != 201:
        assert response.headers["content-type"] == PROBLEM_JSON
        assert isinstance(response.json()["code"], str)


@pytest.mark.parametrize("path", list(_documents))
@_limits
@given(data=st.data())
async def test_registration_answers_any_json_with_201_or_a_problem(
    api: Api, path: str, data: st.DataObject
) -> None:
    document = data.draw(_documents[path], label="document")
    # ASCII with \u escapes, so lone surrogates reach the server; NaN is sent as NaN.
    await assert_201_or_problem(api, path, json.dumps(document).encode())


@pytest.mark.parametrize("path", list(_documents))
@_limits
@given(body=st.binary(max_size=300))
async def test_registration_answers_any_bytes_with_201_or_a_problem(
    api: Api, path: str, body: bytes
) -> None:
    await assert_201_or_problem(api, path, body)
