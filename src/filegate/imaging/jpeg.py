"""JPEG through libvips: the verifying decode, at the scale the renditions need.

Why libvips for JPEG (measured with ``python -m bench decoders``): libjpeg reports most
damage in the entropy-coded data only as a *warning* and carries on, and Pillow offers no
way to see those warnings, so Pillow passes about five damaged files in six. libvips
surfaces them (``fail_on="warning"``) and still decodes with DCT scaling (shrink-on-load),
which costs little more than Pillow's 1/8 draft. In strict mode (the default) a warning is
a corrupt file; otherwise only errors and truncation are.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO

from PIL import Image

os.environ.setdefault("VIPS_CONCURRENCY", "1")  # one CPU slot per worker process
import pyvips

pyvips.cache_set_max(0)  # every file is decoded once: a cache only holds memory

VipsError = pyvips.Error
_SHRINKS = (8, 4, 2)
_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
"""Start-of-frame markers (DHT, JPG and DAC share the range but are not frames)."""
_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})


def sample_precision(fp: BinaryIO) -> int | None:
    """Bits per sample from the first start-of-frame header, or ``None`` if unreadable."""
    fp.seek(2)
    while True:
        marker = fp.read(2)
        if len(marker) < 2 or marker[0] != 0xFF:
            return None
        kind = marker[1]
        if kind in _STANDALONE or kind == 0xFF:
            fp.seek(-1 if kind == 0xFF else 0, os.SEEK_CUR)
            continue
        length_bytes = fp.read(2)
        if len(length_bytes) < 2:
            return None
        if kind in _SOF_MARKERS:
            precision = fp.read(1)
            return precision[0] if precision else None
        if kind == 0xDA:  # start of scan before any frame header: malformed
            return None
        fp.seek(int.from_bytes(length_bytes, "big") - 2, os.SEEK_CUR)


def decode_displayed(path: Path, *, strict: bool, edge: int) -> Image.Image:
    """Decode every block of the JPEG at ``path`` and return it as displayed: EXIF
    orientation applied, sRGB (embedded profile honoured, CMYK converted), RGB, and
    ``edge`` on its long side (smaller only where the original is).

    DCT scaling skips work only after entropy decoding, so every block is still checked.
    Raises ``pyvips.Error`` when the data is damaged (per ``strict``).
    """
    header = pyvips.Image.new_from_file(os.fspath(path), access="sequential")
    shrink = _shrink_for(max(header.width, header.height), edge)
    decoded = pyvips.Image.new_from_file(
        os.fspath(path),
        access="sequential",
        shrink=shrink,
        fail_on="warning" if strict else "truncated",
    ).copy_memory()  # the whole decode happens here: damage raises now
    return _to_pillow(_fitted(_in_srgb(decoded.autorot()), edge))


def _fitted(image: pyvips.Image, edge: int) -> pyvips.Image:
    long_edge = max(image.width, image.height)
    return image if long_edge <= edge else image.resize(edge / long_edge)


def _shrink_for(long_edge: int, edge: int) -> int:
    return next((s for s in _SHRINKS if long_edge // s >= edge), 1)


def _in_srgb(image: pyvips.Image) -> pyvips.Image:
    cmyk = image.interpretation == "cmyk"
    if cmyk or image.get_typeof("icc-profile-data") != 0:
        return image.icc_transform("srgb", embedded=True, input_profile="cmyk" if cmyk else "srgb")
    return image.colourspace("srgb")


def _to_pillow(image: pyvips.Image) -> Image.Image:
    if image.bands > 3:
        image = image.extract_band(0, n=3)
    if image.format != "uchar":
        image = image.cast("uchar")
    return Image.frombytes("RGB", (image.width, image.height), image.write_to_memory())
