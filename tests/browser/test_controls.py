"""The list's controls: order of cards, cancel, pause and resume, clear rejected, expiry."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Route, expect

from tests.browser import pictures
from tests.browser.harness import DESKTOP, PageProblems
from tests.browser.uploader import UploaderPage
from tests.e2e.server import RunningServer

pytestmark = pytest.mark.e2e

STORE = "**/store/**"


class HeldUploads:
    """Keeps every upload to the store pending until released (an upload in flight)."""

    def __init__(self) -> None:
        self.held: list[Route] = []

    def __call__(self, route: Route) -> None:
        self.held.append(route)


@pytest.fixture
def held(uploader: UploaderPage) -> Iterator[HeldUploads]:
    routes = HeldUploads()
    uploader.page.route(STORE, routes)
    yield routes
    uploader.page.unroute(STORE)


def names_in_order(uploader: UploaderPage) -> list[str]:
    return [
        str(name) for name in uploader.cards.evaluate_all("cards => cards.map(c => c.dataset.name)")
    ]


def test_cards_list_the_newest_pick_first_and_each_pick_in_its_order(
    uploader: UploaderPage, tmp_path: Path
) -> None:
    first = pictures.named(tmp_path / "one", ["b.jpg", "a.jpg", "c.jpg"])
    second = pictures.named(tmp_path / "two", ["e.jpg", "d.jpg"])

    uploader.pick(first)
    expect(uploader.cards).to_have_count(3)
    uploader.pick(second)
    expect(uploader.cards).to_have_count(5)

    assert names_in_order(uploader) == ["e.jpg", "d.jpg", "b.jpg", "a.jpg", "c.jpg"]
    for path in [*first, *second]:
        uploader.expect_state(path.name, "ready")
    assert names_in_order(uploader) == ["e.jpg", "d.jpg", "b.jpg", "a.jpg", "c.jpg"]


def test_cancelling_an_upload_in_flight_leaves_no_file_on_the_server(
    uploader: UploaderPage, held: HeldUploads, tmp_path: Path
) -> None:
    kept, cancelled = pictures.photos(tmp_path, 2)
    uploader.pick([cancelled])
    uploader.expect_state(cancelled.name, "uploading")

    uploader.button(f"Cancel {cancelled.name}").click()

    expect(uploader.card(cancelled.name)).to_have_count(0)
    uploader.page.unroute(STORE)
    uploader.pick([kept])
    uploader.expect_state(kept.name, "ready")
    uploader.open()  # a reload lists the session's files from the server
    uploader.expect_state(kept.name, "ready")
    expect(uploader.cards).to_have_count(1)


def test_cancel_all_stops_every_unfinished_file_and_deletes_it(
    uploader: UploaderPage, held: HeldUploads, tmp_path: Path
) -> None:
    photos = pictures.photos(tmp_path, 4)  # three upload at once, the fourth waits its turn
    uploader.pick(photos)
    for path in photos:
        uploader.expect_state(path.name, re.compile("^(registered|uploading)$"))

    uploader.button("Cancel all").click()

    expect(uploader.cards).to_have_count(0)
    expect(uploader.button("Cancel all")).to_be_hidden()
    uploader.open()
    expect(uploader.page.locator("#empty")).to_be_visible()
    expect(uploader.cards).to_have_count(0)


def test_a_paused_upload_resumes_with_a_fresh_upload_url(
    uploader: UploaderPage, held: HeldUploads, tmp_path: Path
) -> None:
    (photo,) = pictures.photos(tmp_path, 1)
    uploader.pick([photo])
    uploader.expect_state(photo.name, "uploading")

    uploader.button(f"Pause {photo.name}").click()

    expect(uploader.expect_state(photo.name, "paused")).to_contain_text("Paused")
    uploader.page.unroute(STORE)
    with uploader.page.expect_request(re.compile(r"/v1/files/[^/]+/upload-url$")) as renewed:
        uploader.button(f"Resume {photo.name}").click()
    assert renewed.value.method == "POST"
    uploader.expect_state(photo.name, "ready")


def test_clear_rejected_removes_the_rejected_cards_here_and_on_the_server(
    uploader: UploaderPage, tmp_path: Path
) -> None:
    (photo,) = pictures.photos(tmp_path, 1)
    damaged = pictures.corrupt(tmp_path, "damaged.jpg")
    uploader.pick([photo, damaged])
    uploader.expect_state(photo.name, "ready")
    uploader.expect_state(damaged.name, "rejected")

    uploader.button("Clear rejected").click()

    expect(uploader.card(damaged.name)).to_have_count(0)
    expect(uploader.button("Clear rejected")).to_be_hidden()
    uploader.open()
    uploader.expect_state(photo.name, "ready")
    expect(uploader.cards).to_have_count(1)


def test_the_session_expiry_shows_its_date_and_time_zone(
    browser: Browser, server: RunningServer, problems: PageProblems
) -> None:
    context = browser.new_context(viewport=DESKTOP, locale="en-US", timezone_id="America/New_York")
    try:
        page = UploaderPage(problems.watch(context.new_page()), server.url)
        page.open()
        expect(page.page.locator("#identity")).to_have_text(
            re.compile(
                r"kept until [A-Z][a-z]{2}, [A-Z][a-z]{2} \d{1,2}, \d{4}, \d\d:\d\d [AP]M E[SD]T$"
            )
        )
    finally:
        context.close()
