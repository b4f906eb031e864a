"""QR codes (segno): the only module that draws them."""

from __future__ import annotations

import io

import segno

_SCALE = 8
_BORDER = 4


class SegnoQrCodes:
    """QR codes with error correction M, 8 pixels per module and a 4-module border."""

    def png(self, text: str) -> bytes:
        """A PNG QR code of ``text``."""
        return _render(text, "png")

    def svg(self, text: str) -> bytes:
        """An SVG QR code of ``text``, with an XML declaration, scalable without loss."""
        return _render(text, "svg")


def _render(text: str, kind: str) -> bytes:
    code = segno.make_qr(text, error="m")
    buffer = io.BytesIO()
    code.save(buffer, kind=kind, scale=_SCALE, border=_BORDER)
    return buffer.getvalue()
