"""How the page learns each file's outcome: from the event stream (``GET /v1/events``), or,
where the stream is out of reach, by long-polling each file."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Request, Route, expect

from tests.browser import pictures
from tests.browser.harness import PageProblems
from tests.browser.uploader import UploaderPage
from tests.support import images

pytestmark = pytest.mark.e2e

EVENTS = "**/v1/events*"
ONE_FILE = re.compile(r"GET /v1/files/[^/?]+(\?|$)")
LISTING = re.compile(r"GET /v1/files\?limit=100$")  # a page (the boot's token probe lists 1)


def api_requests(uploader: UploaderPage) -> list[str]:
    """Every request the page makes to the API from now on (method and path with query)."""
    seen: list[str] = []

    def record(request: Request) -> None:
        path = request.url.removeprefix(uploader.base_url)
        if path.startswith("/v1/"):
            seen.append(f"{request.method} {path}")

    uploader.page.on("request", record)
    return seen


def test_states_change_with_long_polling_disabled(uploader: UploaderPage, tmp_path: Path) -> None:
    requests = api_requests(uploader)
    with uploader.page.expect_request(EVENTS):
        uploader.open("/?polling=off")  # only the event stream may bring outcomes now
    good = pictures.photos(tmp_path, 2)
    not_image = pictures.write(tmp_path, "notes.jpg", images.text_bytes())

    uploader.pick([*good, not_image])

    for path in good:
        expect(uploader.expect_state(path.name, "ready")).to_contain_text("480")
    expect(uploader.expect_state("notes.jpg", "rejected")).to_contain_text("This is not an image.")
    assert not [r for r in requests if "wait=" in r], requests  # no long poll
    assert not [r for r in requests if ONE_FILE.match(r)], requests  # no read of a file
    assert [r for r in requests if LISTING.match(r)] == ["GET /v1/files?limit=100"]  # the first
    assert [r for r in requests if r.startswith("GET /v1/events")] == ["GET /v1/events"]


def test_without_the_stream_each_file_is_long_polled(
    uploader: UploaderPage, problems: PageProblems, tmp_path: Path
) -> None:
    def no_stream(route: Route) -> None:
        route.fulfill(
            status=404,
            content_type="application/problem+json",
            body='{"status": 404, "code": "NOT_FOUND", "title": "Not Found", "detail": "-"}',
        )

    uploader.page.route(EVENTS, no_stream)
    requests = api_requests(uploader)
    uploader.open()
    (photo,) = pictures.photos(tmp_path, 1)

    uploader.pick([photo])

    uploader.expect_state(photo.name, "ready")
    assert [r for r in requests if "wait=" in r], requests
    problems.forgive("404")  # the refused stream, as the browser reports it
