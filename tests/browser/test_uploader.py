"""Picking images on the page: live states, plain-words rejections, download and delete."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser import pictures
from tests.browser.harness import PageProblems
from tests.browser.uploader import UploaderPage
from tests.e2e.server import RunningServer
from tests.support import images

pytestmark = pytest.mark.e2e


def test_picked_images_reach_ready_or_rejected_with_the_reason_in_plain_words(
    uploader: UploaderPage, tmp_path: Path
) -> None:
    good = pictures.photos(tmp_path, 3)
    damaged = pictures.corrupt(tmp_path, "damaged.jpg")
    not_image = pictures.write(tmp_path, "notes.jpg", images.text_bytes())

    uploader.pick([*good, damaged, not_image])

    for path in good:
        card = uploader.expect_state(path.name, "ready")
        expect(card).to_contain_text("480 \N{MULTIPLICATION SIGN} 320 JPEG")
        assert uploader.preview_loaded(path.name)
    expect(uploader.expect_state("damaged.jpg", "rejected")).to_contain_text(
        "This file is damaged or incomplete."
    )
    expect(uploader.expect_state("notes.jpg", "rejected")).to_contain_text("This is not an image.")
    expect(uploader.page.locator("#overall-text")).to_contain_text("5 of 5 files sent")
    expect(uploader.page.locator("#overall-text")).to_contain_text("3 ready · 2 rejected")
    expect(uploader.page.get_by_role("status")).not_to_be_empty()


def test_download_gives_back_the_uploaded_bytes(uploader: UploaderPage, tmp_path: Path) -> None:
    (photo,) = pictures.photos(tmp_path, 1)
    uploader.pick([photo])
    uploader.expect_state(photo.name, "ready")

    with uploader.page.expect_download() as started:
        uploader.button(f"Download {photo.name}").click()

    download = started.value
    assert download.suggested_filename == photo.name
    assert Path(download.path()).read_bytes() == photo.read_bytes()


def test_delete_removes_the_file_for_good(uploader: UploaderPage, tmp_path: Path) -> None:
    kept, deleted = pictures.photos(tmp_path, 2)
    uploader.pick([kept, deleted])
    uploader.expect_state(kept.name, "ready")
    uploader.expect_state(deleted.name, "ready")

    uploader.button(f"Delete {deleted.name}").click()

    expect(uploader.card(deleted.name)).to_have_count(0)
    uploader.open()  # a reload: the same session (kept in sessionStorage), listed anew
    uploader.expect_state(kept.name, "ready")
    expect(uploader.cards).to_have_count(1)


def test_a_token_in_the_address_acts_as_that_user_and_leaves_the_address_bar(
    uploader: UploaderPage, server: RunningServer, tmp_path: Path
) -> None:
    token = server.token(user="browser-alice")
    uploader.open(f"/?token={token}")

    assert "token=" not in uploader.page.url
    expect(uploader.page.locator("#identity")).to_have_text("Signed in with a token")
    (photo,) = pictures.photos(tmp_path, 1)
    uploader.pick([photo])
    uploader.expect_state(photo.name, "ready")


def test_a_failed_upload_is_retried_with_the_retry_button(
    uploader: UploaderPage, problems: PageProblems, tmp_path: Path
) -> None:
    (photo,) = pictures.photos(tmp_path, 1)
    uploader.page.route("**/store/**", lambda route: route.abort("connectionreset"))
    uploader.pick([photo])

    failed = uploader.expect_state(photo.name, "failed")
    expect(failed).to_contain_text("The connection failed.")
    problems.forgive("net::ERR_CONNECTION_RESET")
    uploader.page.unroute("**/store/**")
    uploader.button(f"Retry {photo.name}").click()

    uploader.expect_state(photo.name, "ready")
    expect(uploader.button(f"Retry {photo.name}")).to_be_hidden()
