"""Request metrics and access logs of the real app, in-process over a real SQLite runtime."""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import APIRouter
from pydantic import SecretStr

from filegate.bootstrap.logs import JsonFormatter, extra_fields
from filegate.bootstrap.runtime import Runtime, open_runtime
from filegate.config import Settings
from filegate.domain.models import Owner, OwnerKind
from filegate.http.app import create_app
from tests.support import images

BASE = "http://testserver"
DURATION_COUNT = "filegate_http_request_duration_seconds_count"


@pytest.fixture(autouse=True)
def no_filegate_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("FILEGATE_"):
            monkeypatch.delenv(name)


@pytest.fixture
async def runtime(tmp_path: Path) -> AsyncIterator[Runtime]:
    settings = Settings(
        data_dir=tmp_path / "data",
        secret=SecretStr("telemetry-test-secret-32-chars!!"),
        public_url=BASE,
        decode_workers=1,
    )
    async with open_runtime(settings) as opened:
        yield opened


def client_for(runtime: Runtime, *routers: APIRouter) -> httpx.AsyncClient:
    app = create_app(runtime.api, routers) if routers else runtime.app()
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url=BASE)


def auth(runtime: Runtime) -> dict[str, str]:
    token = runtime.tokens.mint(Owner(OwnerKind.USER, "alice"), timedelta(hours=1))
    return {"Authorization": f"Bearer {token}"}


def requests_seen(runtime: Runtime, method: str, route: str, status: int) -> float:
    labels = {"method": method, "route": route, "status": str(status)}
    return runtime.metrics.registry.get_sample_value(DURATION_COUNT, labels) or 0.0


def access_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    """The fields of each access-log record."""
    return [extra_fields(r) for r in caplog.records if r.name == "filegate.http.access"]


async def test_metrics_are_served_in_the_prometheus_text_format(runtime: Runtime) -> None:
    async with client_for(runtime) as client:
        response = await client.get("/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    assert "filegate_registrations_total 0.0" in response.text
    assert 'filegate_queue_messages{state="visible"} 0.0' in response.text


async def test_requests_are_counted_by_route_template_never_by_raw_path(
    runtime: Runtime,
) -> None:
    async with client_for(runtime) as client:
        for file_id in ("a" * 32, "b" * 32):
            await client.get(f"/v1/files/{file_id}", headers=auth(runtime))
        await client.get("/no/such/path")

    assert requests_seen(runtime, "GET", "/v1/files/{file_id}", 404) == 2
    assert requests_seen(runtime, "GET", "unmatched", 404) == 1
    exposition = (await runtime.metrics.render()).decode()
    assert "a" * 32 not in exposition


async def test_each_request_logs_one_line_with_its_request_id(
    runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with client_for(runtime) as client:
        response = await client.get(
            "/v1/files", params={"state": "ready"}, headers={"X-Request-ID": "trace-42"}
        )

    [line] = access_lines(caplog)
    assert response.headers["x-request-id"] == "trace-42"
    assert line.pop("duration_ms") >= 0
    assert line == {
        "method": "GET",
        "route": "/v1/files",
        "path": "/v1/files",
        "status": 401,
        "request_id": "trace-42",
        "client_ip": "127.0.0.1",
    }


async def test_signed_upload_urls_are_logged_without_their_query_string(
    runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    data = images.jpeg_bytes(32, 32)
    body = {
        "filename": "a.jpg",
        "content_type": "image/jpeg",
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
    }
    async with client_for(runtime) as client:
        file = (await client.post("/v1/files", json=body, headers=auth(runtime))).json()
        upload = file["upload"]
        put = await client.put(upload["url"], headers=upload["headers"], content=data)

    assert put.status_code == 200, put.text
    assert "sig=" in upload["url"]
    [put_line] = [line for line in access_lines(caplog) if line["method"] == "PUT"]
    assert put_line["route"] == "/store/{key}"
    assert put_line["path"] == httpx.URL(upload["url"]).path
    ours = [r for r in caplog.records if r.name.startswith("filegate")]
    assert not [r for r in ours if "sig=" in JsonFormatter().format(r)]
    assert requests_seen(runtime, "PUT", "/store/{key}", 200) == 1
    assert runtime.metrics.registry.get_sample_value("filegate_upload_bytes_total") == len(data)


async def test_a_request_that_crashes_is_counted_and_logged_as_a_500(
    runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    crashing = APIRouter()

    @crashing.get("/crash")
    async def crash() -> None:
        raise RuntimeError("boom")

    async with client_for(runtime, crashing) as client:
        response = await client.get("/crash", headers={"X-Request-ID": "crash-1"})

    assert response.status_code == 500
    assert requests_seen(runtime, "GET", "/crash", 500) == 1
    [line] = access_lines(caplog)
    assert (line["status"], line["request_id"]) == (500, "crash-1")


async def test_probes_are_logged_at_debug_only(
    runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with client_for(runtime) as client:
        await client.get("/healthz")
        await client.get("/metrics")

    assert access_lines(caplog) == []
    assert requests_seen(runtime, "GET", "/healthz", 200) == 1
