"""The page's BlurHash decoder (web/blurhash.js), run in Chromium, against known hashes and
against the reference implementation's own decoder (the ``blurhash-python`` package)."""

from __future__ import annotations

import re
from pathlib import Path

import blurhash
import pytest
from PIL import Image
from playwright.sync_api import Page

from filegate.domain.models import RejectionReason, TransitionReason
from tests.browser import pictures
from tests.browser.uploader import UploaderPage

pytestmark = pytest.mark.e2e

_DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#$%*+,-.:;=?@[]^_{|}~"
_DECODE = """async ([hash, width, height]) => {
  const { decode } = await import("/web/blurhash.js");
  return Array.from(decode(hash, width, height));
}"""


def _base83(value: int, length: int) -> str:
    digits = []
    for _ in range(length):
        value, digit = divmod(value, 83)
        digits.append(_DIGITS[digit])
    return "".join(reversed(digits))


def _decoded(page: Page, hash_: str, width: int, height: int) -> list[tuple[int, ...]]:
    """The RGB pixels the page's decoder paints for ``hash_``, row by row."""
    flat: list[int] = page.evaluate(_DECODE, [hash_, width, height])
    assert len(flat) == width * height * 4
    assert set(flat[3::4]) == {255}  # opaque
    return [tuple(flat[at : at + 3]) for at in range(0, len(flat), 4)]


def test_a_hash_of_one_colour_decodes_to_exactly_that_colour(uploader: UploaderPage) -> None:
    red, green, blue = 200, 100, 50
    only_average = "00" + _base83((red << 16) | (green << 8) | blue, 4)  # 1 by 1 components

    pixels = _decoded(uploader.page, only_average, 8, 6)

    assert set(pixels) == {(red, green, blue)}


def test_a_horizontal_component_makes_the_left_brighter_than_the_right(
    uploader: UploaderPage,
) -> None:
    # 2 by 1 components: a grey average and the largest positive first cosine in x.
    grey = (128 << 16) | (128 << 8) | 128
    strongest = 18 * 19 * 19 + 18 * 19 + 18
    hash_ = "1" + _base83(40, 1) + _base83(grey, 4) + _base83(strongest, 2)

    pixels = _decoded(uploader.page, hash_, 8, 2)

    top_row = [pixel[0] for pixel in pixels[:8]]
    assert top_row == sorted(top_row, reverse=True)
    assert top_row[0] > 128 > top_row[-1]
    assert pixels[:8] == pixels[8:]  # no vertical component: both rows alike


def test_the_page_decodes_a_photo_s_hash_as_the_reference_decoder_does(
    uploader: UploaderPage, tmp_path: Path
) -> None:
    photo = pictures.write(tmp_path, "scene.jpg", pictures.scene(3, 96, 64))
    with Image.open(photo) as image:
        hash_ = blurhash.encode(image, x_components=5, y_components=4)
    width, height = 24, 16
    reference = blurhash.decode(hash_, width, height).convert("RGB")

    pixels = _decoded(uploader.page, hash_, width, height)

    expected = [reference.getpixel((x, y)) for y in range(height) for x in range(width)]
    pairs = zip(pixels, expected, strict=True)
    worst = max(abs(a - b) for got, want in pairs for a, b in zip(got, want, strict=True))
    assert worst <= 1  # rounding only


@pytest.mark.parametrize("malformed", ["", "00", "00AAAA!", "L0000000"])
def test_a_malformed_hash_is_refused_with_a_range_error(
    uploader: UploaderPage, malformed: str
) -> None:
    refusal = uploader.page.evaluate(
        """async (hash) => {
          const { decode } = await import("/web/blurhash.js");
          try { decode(hash, 4, 4); return "decoded"; } catch (error) { return error.name; }
        }""",
        malformed,
    )
    assert refusal == "RangeError"


def test_every_documented_rejection_reason_has_its_own_sentence(uploader: UploaderPage) -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("### Rejection reasons", 1)[1].split("\n## ", 1)[0]
    reasons = re.findall(r"^\| `([A-Z_]+)` \|", section, flags=re.MULTILINE)
    assert len(reasons) >= 11  # the table was found and read
    every = sorted({*reasons, *RejectionReason, TransitionReason.UPLOAD_EXPIRED})

    sentences: dict[str, str] = uploader.page.evaluate(
        """async (reasons) => {
          const { rejection } = await import("/web/words.js");
          return Object.fromEntries(reasons.map((reason) => [reason, rejection(reason)]));
        }""",
        every,
    )

    fallbacks = [reason for reason, text in sentences.items() if reason in text]
    assert fallbacks == []  # the fallback sentence names the code; a written one does not
    assert len(set(sentences.values())) == len(sentences)
