"""Keyboard-only use, a phone-sized screen, and text contrast."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Locator, expect

from tests.browser import pictures
from tests.browser.harness import PHONE
from tests.browser.uploader import UploaderPage

pytestmark = pytest.mark.e2e


def _focus_ring(element: Locator) -> str:
    style: str = element.evaluate("el => getComputedStyle(el).outlineStyle")
    return style


def test_the_main_controls_work_from_the_keyboard_alone(
    uploader: UploaderPage, tmp_path: Path
) -> None:
    page = uploader.page
    (photo,) = pictures.photos(tmp_path, 1)
    # Intercept file choosers from now on: enabling it only when the key is pressed races.
    page.on("filechooser", lambda _: None)

    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to your files")).to_be_focused()
    page.keyboard.press("Tab")
    expect(uploader.choose).to_be_focused()
    assert _focus_ring(uploader.choose) != "none"
    with page.expect_file_chooser() as chooser:
        page.keyboard.press("Enter")
    chooser.value.set_files(str(photo))
    uploader.expect_state(photo.name, "ready")

    larger = page.get_by_role("button", name=f"Show a larger preview of {photo.name}")
    expect(larger).to_be_visible()  # once the thumbnail is in

    page.keyboard.press("Tab")
    expect(uploader.phone).to_be_focused()
    page.keyboard.press("Tab")
    expect(larger).to_be_focused()
    assert _focus_ring(larger) != "none"
    page.keyboard.press("Enter")
    preview = page.get_by_role("dialog", name=photo.name)
    expect(preview.get_by_role("img", name=photo.name)).to_be_visible()
    page.keyboard.press("Escape")
    expect(preview).to_be_hidden()
    expect(larger).to_be_focused()

    download = uploader.button(f"Download {photo.name}")
    # Download comes next in the tab order. Focused directly: the card may be redrawn by a
    # late state update just after the dialog closes, which drops the focus to the page.
    follows = larger.evaluate(
        "(el, next) => Boolean(el.compareDocumentPosition(next) & 4)",  # 4: FOLLOWING
        download.element_handle(),
    )
    assert follows
    download.focus()
    expect(download).to_be_focused()
    with page.expect_download() as saved:
        page.keyboard.press("Enter")
    assert Path(saved.value.path()).read_bytes() == photo.read_bytes()

    page.keyboard.press("Tab")
    expect(uploader.button(f"Delete {photo.name}")).to_be_focused()
    page.keyboard.press("Enter")
    expect(uploader.cards).to_have_count(0)
    expect(page.get_by_role("heading", name="Your files")).to_be_focused()

    uploader.phone.focus()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Add from your phone")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("img")).to_be_visible()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(uploader.phone).to_be_focused()


def test_the_page_fits_a_phone_screen(uploader: UploaderPage, tmp_path: Path) -> None:
    page = uploader.page
    page.set_viewport_size(PHONE)
    uploader.pick(pictures.photos(tmp_path, 2))
    uploader.expect_state("photo-1.jpg", "ready")
    uploader.expect_state("photo-2.jpg", "ready")

    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    for control in (uploader.choose, uploader.phone, uploader.button("Delete photo-1.jpg")):
        box = control.bounding_box()
        assert box is not None
        assert box["x"] >= 0
        assert box["x"] + box["width"] <= PHONE["width"]
        assert box["height"] >= 36  # a comfortable touch target


_COLOURS = """
el => {
  const rgb = (value) => (value.match(/[\\d.]+/g) || []).map(Number);
  let node = el, background = null;
  while (node && !background) {
    const colour = rgb(getComputedStyle(node).backgroundColor);
    if (colour.length === 3 || colour[3] > 0) background = colour.slice(0, 3);
    node = node.parentElement;
  }
  const text = rgb(getComputedStyle(el).color).slice(0, 3);
  return { text, background: background || [255, 255, 255] };
}
"""


def _luminance(rgb: list[float]) -> float:
    def linear(channel: float) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(text: list[float], background: list[float]) -> float:
    """The WCAG contrast ratio of two sRGB colours."""
    light, dark = sorted((_luminance(text), _luminance(background)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_text_contrast_is_at_least_4_5_to_1(uploader: UploaderPage, tmp_path: Path) -> None:
    uploader.pick([*pictures.photos(tmp_path, 1), pictures.corrupt(tmp_path)])
    uploader.expect_state("photo-1.jpg", "ready")
    uploader.expect_state("damaged.jpg", "rejected")

    selectors = [
        "h1",
        ".identity",
        ".drop-zone .hint",
        "#choose",
        "#phone",
        ".overall-text",
        ".file-name",
        ".file-state",
        ".file-details:not([hidden])",
        ".file-reason",
        ".file-actions .button:not([hidden])",
        ".thumb",
    ]
    for selector in selectors:
        for element in uploader.page.locator(selector).all():
            colours = element.evaluate(_COLOURS)
            ratio = contrast(colours["text"], colours["background"])
            assert ratio >= 4.5, f"{selector}: {colours} has contrast {ratio:.2f}"
