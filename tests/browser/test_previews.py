"""Cards show the placeholder, then the thumbnail, never the original; a click opens the
preview. Checked through the requests Chromium made and the bytes the page shows."""

from __future__ import annotations

import io
import re
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from PIL import Image, ImageStat
from playwright.sync_api import Page, Request, Route, expect

from tests.browser import pictures
from tests.browser.uploader import UploaderPage

pytestmark = pytest.mark.e2e

_WIDTH, _HEIGHT = 1200, 800
"""Larger than the default thumbnail (320) so that the thumbnail is visibly smaller."""
_CONTENT_ROUTE = re.compile(r"/v1/files/[^/]+/content$")

_MEAN_COLOUR = """(canvas) => {
  const { width, height } = canvas;
  const { data } = canvas.getContext("2d").getImageData(0, 0, width, height);
  const sums = [0, 0, 0];
  for (let at = 0; at < data.length; at += 4) {
    for (let c = 0; c < 3; c += 1) sums[c] += data[at + c];
  }
  return sums.map((sum) => sum / (width * height));
}"""


class Traffic:
    """Every request the page makes (redirects followed included); the page's requests for
    thumbnails wait for ``release``. (Playwright routes a request, not the redirect it
    follows: the API's preview route is held, and with it the signed URL it leads to.)"""

    def __init__(self, page: Page) -> None:
        self.requests: list[Request] = []
        self.held: list[Route] = []
        page.on("request", self._seen)
        page.route("**/v1/files/*/preview?size=thumb", self._route)

    def _seen(self, request: Request) -> None:
        self.requests.append(request)

    def thumbnail_bytes(self) -> bytes:
        """The bytes behind the one signed thumbnail URL the page read (read again here)."""
        (url,) = [r.url for r in self.requests if urlsplit(r.url).path.endswith(".thumb")]
        answer = httpx.get(url, timeout=30)
        assert answer.status_code == 200
        return answer.content

    def _route(self, route: Route) -> None:
        self.held.append(route)

    def wait_until_held(self, page: Page, timeout_ms: int = 10_000) -> None:
        """Until a thumbnail read is held (Playwright runs the route handler while the
        page waits)."""
        for _ in range(timeout_ms // 50):
            if self.held:
                return
            page.wait_for_timeout(50)
        raise AssertionError("the page never asked for a thumbnail")

    def release(self) -> None:
        for route in self.held:
            route.continue_()
        self.held.clear()

    def store_reads(self) -> list[str]:
        """The paths of the signed store URLs the page fetched."""
        return [
            urlsplit(r.url).path for r in self.requests if r.method == "GET" and "/store/" in r.url
        ]

    def content_reads(self) -> list[str]:
        return [r.url for r in self.requests if _CONTENT_ROUTE.search(urlsplit(r.url).path)]


def _photo(tmp_path: Path, name: str = "wide.jpg") -> Path:
    return pictures.write(tmp_path, name, pictures.scene(1, _WIDTH, _HEIGHT))


def _average(path: Path) -> list[float]:
    with Image.open(path) as image:
        mean: list[float] = ImageStat.Stat(image.convert("RGB")).mean
    return mean


def test_a_card_paints_the_placeholder_then_the_thumbnail_and_never_loads_the_original(
    uploader: UploaderPage, tmp_path: Path
) -> None:
    page = uploader.page
    traffic = Traffic(page)
    photo = _photo(tmp_path)
    uploader.pick([photo])
    card = uploader.expect_state(photo.name, "ready")

    # The page asked for the thumbnail and its bytes are held back: the card shows the
    # placeholder alone.
    traffic.wait_until_held(page)
    expect(card.locator("canvas.placeholder")).to_be_visible()
    expect(card.locator("img")).to_have_count(0)
    painted = card.locator("canvas.placeholder").evaluate(_MEAN_COLOUR)
    for got, want in zip(painted, _average(photo), strict=True):
        assert abs(got - want) < 40  # the blurred photo, not an empty or grey box

    traffic.release()
    assert uploader.preview_loaded(photo.name)
    image = card.locator("img")
    assert image.evaluate("img => img.naturalWidth") < _WIDTH
    shown = traffic.thumbnail_bytes()
    assert shown[:4] == b"RIFF" and shown[8:12] == b"WEBP"  # a WebP rendition, not the JPEG
    with Image.open(io.BytesIO(shown)) as thumbnail:
        assert thumbnail.width == image.evaluate("img => img.naturalWidth")

    reads = traffic.store_reads()
    assert reads and all(path.endswith(".thumb") for path in reads)
    assert traffic.content_reads() == []


def test_a_click_on_a_card_opens_the_preview_which_escape_closes(
    uploader: UploaderPage, tmp_path: Path
) -> None:
    page = uploader.page
    traffic = Traffic(page)
    photo = _photo(tmp_path, "opened.jpg")
    uploader.pick([photo])
    uploader.expect_state(photo.name, "ready")
    traffic.wait_until_held(page)
    traffic.release()
    assert uploader.preview_loaded(photo.name)
    thumb_width = uploader.card(photo.name).locator("img").evaluate("img => img.naturalWidth")

    opener = page.get_by_role("button", name=f"Show a larger preview of {photo.name}")
    opener.click()

    dialog = page.get_by_role("dialog", name=photo.name)
    expect(dialog).to_be_visible()
    large = dialog.get_by_role("img", name=photo.name)
    expect(large).to_be_visible()
    expect(large).to_have_js_property("complete", True)
    assert large.evaluate("img => img.naturalWidth") > thumb_width
    expect(dialog.get_by_role("button", name="Close")).to_be_focused()

    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(opener).to_be_focused()
    reads = traffic.store_reads()
    assert sorted({path.rsplit(".", 1)[1] for path in reads}) == ["preview", "thumb"]
    assert traffic.content_reads() == []
