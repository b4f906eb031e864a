"""'Add from phone': an upload grant as a QR code, and a second device sending through it."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, expect

from tests.browser import pictures
from tests.browser.harness import PHONE, PageProblems, screenshot
from tests.browser.uploader import UploaderPage
from tests.e2e.guest_flow import issue_grant
from tests.e2e.server import RunningServer

pytestmark = pytest.mark.e2e


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
    assert re.fullmatch(rf"{re.escape(server.url)}/g/[2-9a-z]{{14}}", address)

    device = browser.new_context(viewport=PHONE)  # another device: the phone
    try:
        phone = UploaderPage(problems.watch(device.new_page()), server.url)
        phone.open(address.removeprefix(server.url))  # the short link opens the grant's page
        (photo,) = pictures.photos(tmp_path, 1)
        phone.pick([photo])

        expect(phone.page.get_by_role("note")).to_contain_text(
            "You are uploading to someone else's session."
        )
        assert "grant=" not in phone.page.url
        expect(phone.phone).to_be_hidden()
        # The phone follows the file it sent to its outcome; a grant can neither download
        # nor delete.
        sent = phone.expect_state(photo.name, "ready")
        expect(sent.locator(".file-state")).to_have_text("Accepted · the other device has it")
        expect(sent.get_by_role("button")).to_have_count(0)  # no download, no delete
        screenshot(phone.page, "phone-page")
    finally:
        device.close()

    uploader.expect_state(photo.name, "ready")
    assert uploader.preview_loaded(photo.name)  # fetched from the server with the token
    uploader.page.get_by_role("button", name="Done").click()
    expect(dialog).to_be_hidden()


def test_the_phone_page_says_in_plain_words_that_a_file_was_rejected(
    browser: Browser, server: RunningServer, problems: PageProblems, tmp_path: Path
) -> None:
    with httpx.Client(timeout=30) as http:
        issued = issue_grant(http, server.url, server.token(user="phone-owner"), uses=2)
    device = browser.new_context(viewport=PHONE)
    try:
        phone = UploaderPage(problems.watch(device.new_page()), server.url)
        phone.open(issued["url"].removeprefix(server.url))
        (photo,) = pictures.photos(tmp_path, 1)
        damaged = pictures.corrupt(tmp_path, "damaged.jpg")
        phone.pick([photo, damaged])

        rejected = phone.expect_state(damaged.name, "rejected")
        expect(rejected.locator(".file-state")).to_have_text("Not accepted")
        expect(rejected).to_contain_text("This file is damaged or incomplete.")
        phone.expect_state(photo.name, "ready")
        expect(phone.page.get_by_role("status")).to_contain_text("rejected")
        screenshot(phone.page, "phone-rejection")
    finally:
        device.close()


def test_a_file_cancelled_on_the_phone_never_reaches_the_owner(
    browser: Browser, server: RunningServer, problems: PageProblems, tmp_path: Path
) -> None:
    owner = server.token(user="phone-canceller")
    with httpx.Client(timeout=30) as http:
        issued = issue_grant(http, server.url, owner, uses=2)
    device = browser.new_context(viewport=PHONE)
    try:
        phone = UploaderPage(problems.watch(device.new_page()), server.url)
        phone.page.route("**/store/**", lambda route: None)  # the upload stays in flight
        phone.open(issued["url"].removeprefix(server.url))
        (photo,) = pictures.photos(tmp_path, 1)
        phone.pick([photo])
        phone.expect_state(photo.name, "uploading")

        with phone.page.expect_response(
            lambda response: response.request.method == "DELETE"
        ) as deleted:
            phone.button(f"Cancel {photo.name}").click()

        assert deleted.value.status == 204
        expect(phone.card(photo.name)).to_have_count(0)
    finally:
        device.close()
    with httpx.Client(timeout=30) as http:
        listed = http.get(f"{server.url}/v1/files", headers={"Authorization": f"Bearer {owner}"})
    assert [file["state"] for file in listed.json()["files"]] == ["deleted"]
