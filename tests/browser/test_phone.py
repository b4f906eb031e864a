"""'Add from phone': an upload grant as a QR code, and a second device sending through it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests.browser import pictures
from tests.browser.harness import PHONE, PageProblems, screenshot
from tests.browser.uploader import UploaderPage
from tests.e2e.server import RunningServer

pytestmark = pytest.mark.e2e

SENT_OR_LATER = re.compile(r"^(uploaded|ready)$")
SENT_OR_LATER_TEXT = re.compile(r"^(Sent · the other device shows it once checked|Ready)$")


def test_a_file_sent_from_the_phone_link_appears_on_the_first_page(
    uploader: UploaderPage,
    browser: Browser,
    server: RunningServer,
    problems: PageProblems,
    tmp_path: Path,
) -> None:
    uploader.phone.click()
    dialog = uploader.page.get_by_role("dialog", name="Add from your phone")
    expect(dialog).to_be_visible()
    qr = dialog.get_by_role("img", name="QR code of the upload address")
    expect(qr).to_have_js_property("complete", True)
    assert qr.evaluate("img => img.naturalWidth") > 0
    address = dialog.locator("#phone-url").inner_text()
    assert address.startswith(f"{server.url}/?grant=")

    device = browser.new_context(viewport=PHONE)  # another device: the phone
    try:
        phone = UploaderPage(problems.watch(device.new_page()), server.url)
        phone.open(address.removeprefix(server.url))
        (photo,) = pictures.photos(tmp_path, 1)
        phone.pick([photo])

        expect(phone.page.get_by_role("note")).to_contain_text(
            "You are uploading to someone else's session."
        )
        assert "grant=" not in phone.page.url
        expect(phone.phone).to_be_hidden()
        # The phone shows what its ``complete`` call answered: "uploaded", or "ready" when
        # the worker verified the file first. Either way it is sent, and a grant can
        # neither download nor delete.
        sent = phone.expect_state(photo.name, SENT_OR_LATER)
        expect(sent.locator(".file-state")).to_have_text(SENT_OR_LATER_TEXT)
        expect(sent.get_by_role("button")).to_have_count(0)  # no download, no delete
        screenshot(phone.page, "phone-page")
    finally:
        device.close()

    uploader.expect_state(photo.name, "ready")
    assert uploader.preview_loaded(photo.name)  # fetched from the server with the token
    uploader.page.get_by_role("button", name="Done").click()
    expect(dialog).to_be_hidden()
