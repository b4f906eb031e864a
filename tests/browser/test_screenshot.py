"""The screenshot in the README: a page of READY photos and one rejected file.

It is always saved under ``test-artifacts/``; with ``FILEGATE_UPDATE_DOCS=1`` it also
replaces ``docs/uploader.png`` (commit it then).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.browser import pictures
from tests.browser.harness import screenshot
from tests.browser.uploader import UploaderPage

pytestmark = pytest.mark.e2e

DOCS_SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "uploader.png"
MAX_BYTES = 300 * 1024
PHOTOS = ["harbour.jpg", "lagoon.jpg", "meadow.jpg", "orchid.jpg", "dunes.jpg", "glacier.jpg"]


def test_a_page_of_ready_photos_and_one_rejected_file(
    uploader: UploaderPage, tmp_path: Path
) -> None:
    photos = pictures.named(tmp_path, PHOTOS)
    damaged = pictures.corrupt(tmp_path, "scan-0042.jpg")
    uploader.pick([photos[0], damaged, *photos[1:]])  # newest first: it shows 6th
    for photo in photos:
        uploader.expect_state(photo.name, "ready")
        assert uploader.preview_loaded(photo.name)
    uploader.expect_state(damaged.name, "rejected")
    uploader.page.mouse.move(0, 0)  # no hover effect in the picture

    saved = screenshot(uploader.page, "uploader")

    assert saved.stat().st_size < MAX_BYTES
    if os.environ.get("FILEGATE_UPDATE_DOCS") == "1":
        DOCS_SCREENSHOT.parent.mkdir(exist_ok=True)
        shutil.copyfile(saved, DOCS_SCREENSHOT)
