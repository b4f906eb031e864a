"""The facts of an image, read from its headers and metadata once its pixels have decoded.

Read only after the decode has succeeded: with some formats (PNG's ``eXIf`` after the
image data) reading the EXIF loads the pixels, and a decode error raised there must be the
verdict, never something a metadata read swallows. Metadata itself is best effort: a
malformed EXIF block gives no EXIF facts, never a rejection. Strings from the file are
bounded and stripped of control characters; GPS coordinates are never read.
"""

from __future__ import annotations

import io
import re
import warnings
from datetime import datetime

from PIL import ExifTags, Image, ImageCms

from filegate.domain.models import ImageInfo
from filegate.imaging.errors import DECODE_ERRORS

_MAX_TEXT = 100
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_EXIF_TIME = "%Y:%m:%d %H:%M:%S"
_OFFSET = re.compile(r"[+-]\d{2}:\d{2}")
_MODE_BITS = {"1": 1, "I;16": 16, "I;16B": 16, "I;16L": 16, "I;16N": 16, "I": 32, "F": 32}
_PNG_SIGNATURE_AND_IHDR = 24
"""Offset of IHDR's bit-depth byte: 8 bytes signature, 8 chunk header, 8 width/height."""
_TIFF_BITS_PER_SAMPLE = 258


def read_facts(im: Image.Image, head: bytes, frames: int) -> ImageInfo:
    """``ImageInfo`` for ``im`` (positioned on its first frame); ``head``: the file's start."""
    exif = _exif(im)
    icc = im.info.get("icc_profile")
    return ImageInfo(
        format=im.format or "",
        width=im.width,
        height=im.height,
        orientation=_orientation(exif),
        mode=im.mode,
        frames=frames,
        animated=frames > 1 and bool(getattr(im, "is_animated", False)),
        bit_depth=_bit_depth(im, head),
        cmyk=im.mode == "CMYK",
        icc_embedded=bool(icc),
        icc_description=_icc_description(icc) if icc else None,
        dpi=_dpi(im),
        captured_at=_captured_at(exif),
        camera_make=_text(exif.get(ExifTags.Base.Make)),
        camera_model=_text(exif.get(ExifTags.Base.Model)),
        has_location=_has_location(exif),
    )


def _exif(im: Image.Image) -> Image.Exif:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return im.getexif()
    except DECODE_ERRORS:
        return Image.Exif()


def _orientation(exif: Image.Exif) -> int:
    """EXIF orientation (1-8); 1 when absent or invalid."""
    value = exif.get(ExifTags.Base.Orientation, 1)
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _bit_depth(im: Image.Image, head: bytes) -> int | None:
    """Bits per sample as the file stores them (Pillow reduces 16-bit RGB PNG to 8)."""
    if im.format == "PNG" and len(head) > _PNG_SIGNATURE_AND_IHDR:
        return head[_PNG_SIGNATURE_AND_IHDR]
    if im.format == "TIFF":
        bits = getattr(im, "tag_v2", {}).get(_TIFF_BITS_PER_SAMPLE)
        first = bits[0] if isinstance(bits, tuple) and bits else bits
        if isinstance(first, int):
            return first
    recorded = im.info.get("bit_depth")
    if isinstance(recorded, int) and 0 < recorded <= 32:
        return recorded
    return _MODE_BITS.get(im.mode, 8)


def _icc_description(icc: bytes) -> str | None:
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        return _text(ImageCms.getProfileDescription(profile))
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return None


def _dpi(im: Image.Image) -> tuple[float, float] | None:
    dpi = im.info.get("dpi")
    if not isinstance(dpi, tuple | list) or len(dpi) != 2:
        return None
    try:
        x, y = float(dpi[0]), float(dpi[1])
    except (TypeError, ValueError):
        return None
    return (round(x, 2), round(y, 2)) if 0 < x < 1e6 and 0 < y < 1e6 else None


def _captured_at(exif: Image.Exif) -> str | None:
    """DateTimeOriginal as ISO 8601, with OffsetTimeOriginal when the file records one."""
    details = _exif_ifd(exif)
    raw = _text(details.get(ExifTags.Base.DateTimeOriginal))
    if raw is None:
        return None
    try:
        taken = datetime.strptime(raw, _EXIF_TIME)
    except ValueError:
        return None
    offset = _text(details.get(ExifTags.Base.OffsetTimeOriginal))
    stamp = taken.isoformat()
    return stamp + offset if offset and _OFFSET.fullmatch(offset) else stamp


def _has_location(exif: Image.Exif) -> bool:
    if ExifTags.IFD.GPSInfo not in exif:
        return False
    try:
        return bool(exif.get_ifd(ExifTags.IFD.GPSInfo)) or bool(exif[ExifTags.IFD.GPSInfo])
    except DECODE_ERRORS:
        return True  # the tag is there; only its contents are unreadable


def _exif_ifd(exif: Image.Exif) -> dict[int, object]:
    try:
        return dict(exif.get_ifd(ExifTags.IFD.Exif))
    except DECODE_ERRORS:
        return {}


def _text(value: object) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str):
        return None
    cleaned = _CONTROL.sub("", value).strip()[:_MAX_TEXT]
    return cleaned or None
