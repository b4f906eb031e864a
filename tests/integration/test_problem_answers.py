"""Requests the app cannot take, answered with a documented code (never a 500 or an
undocumented ``HTTP_ERROR``): the real app in-process, as in ``test_app_inprocess``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.integration.test_app_inprocess import (  # the autouse fixture clears FILEGATE_*
    Api,
    assert_problem,
    no_filegate_environment,  # noqa: F401
    running_api,
)


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    async with running_api(tmp_path / "data") as running:
        yield running


@pytest.mark.parametrize(
    "content",
    [b"\x80\x81", '{"filename": "\u00e9"}'.encode("latin-1"), b"[" * 100_000],
    ids=["not-utf-8", "latin-1", "nested-too-deep"],
)
async def test_a_body_that_cannot_be_read_as_json_is_a_validation_error(
    api: Api, content: bytes
) -> None:
    headers = {**api.auth, "Content-Type": "application/json"}
    response = await api.client.post("/v1/files", content=content, headers=headers)
    assert_problem(response, 422, "VALIDATION_ERROR")


@pytest.mark.parametrize("ttl_seconds", [379143000444285696, -379143000444285696])
async def test_a_grant_ttl_past_any_duration_is_a_validation_error(
    api: Api, ttl_seconds: int
) -> None:
    body = {"uses": 1, "ttl_seconds": ttl_seconds}
    response = await api.client.post("/v1/upload-grants", json=body, headers=api.auth)
    assert_problem(response, 422, "VALIDATION_ERROR")
