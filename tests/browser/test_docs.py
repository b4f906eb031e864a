"""``/docs`` in Chromium: Swagger UI renders every operation from this server alone."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import BrowserContext, Request, expect

from tests.browser.harness import PageProblems, screenshot
from tests.e2e.server import RunningServer


def test_docs_render_every_operation_without_leaving_the_origin(
    context: BrowserContext,
    server: RunningServer,
    problems: PageProblems,
    request: pytest.FixtureRequest,
) -> None:
    spec = httpx.get(f"{server.url}/openapi.json").json()
    operation_count = sum(len(methods) for methods in spec["paths"].values())
    requested: list[str] = []
    page = problems.watch(context.new_page())
    page.on("request", lambda sent: requested.append(_origin(sent)))

    page.goto(f"{server.url}/docs")
    operations = page.locator(".opblock")
    expect(operations).to_have_count(operation_count)
    expect(page.get_by_text("/v1/files/{file_id}/content", exact=True)).to_be_visible()
    # The error responses are part of what an operation shows.
    page.locator(".opblock-summary", has_text="/v1/usage").first.click()
    expect(page.get_by_text("UNAUTHENTICATED").first).to_be_visible()
    screenshot(page, request.node.name)

    assert set(requested) == {_origin_of(server.url)}, requested


def _origin(sent: Request) -> str:
    return _origin_of(sent.url)


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
