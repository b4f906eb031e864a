"""QR codes of grant URLs, drawn by segno."""

from __future__ import annotations

import io

import segno
from PIL import Image

from filegate.adapters.qr import SegnoQrCodes

URL = "https://shop.example/?grant=eyJhbGciOiJIUzI1NiJ9.eyJncmFudCI6ImcifQ.c2ln"
QR = SegnoQrCodes()


def test_the_png_is_a_square_image_of_the_code_for_the_text() -> None:
    image = Image.open(io.BytesIO(QR.png(URL)))
    modules = segno.make_qr(URL, error="m").symbol_size(scale=8, border=4)

    assert image.format == "PNG"
    assert image.size == modules


def test_the_png_modules_are_exactly_the_codes_modules() -> None:
    image = Image.open(io.BytesIO(QR.png(URL))).convert("L")
    code = segno.make_qr(URL, error="m")

    dark = [
        [image.getpixel((4 * 8 + x * 8 + 4, 4 * 8 + y * 8 + 4)) == 0 for x in range(len(row))]
        for y, row in enumerate(code.matrix)
    ]

    assert dark == [[bool(module) for module in row] for row in code.matrix]


def test_the_svg_is_an_svg_document_of_the_same_code() -> None:
    svg = QR.svg(URL).decode()
    width, height = segno.make_qr(URL, error="m").symbol_size(scale=8, border=4)

    assert svg.startswith("<?xml")
    assert "<svg" in svg and f'width="{width}"' in svg and f'height="{height}"' in svg


def test_different_texts_give_different_codes() -> None:
    assert QR.png(URL) != QR.png(URL + "x")
