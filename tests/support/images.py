"""Test images generated in memory (no binary fixtures): valid, broken and hostile ones.

Every factory is deterministic and returns the encoded file's bytes.
"""

from __future__ import annotations

import io
import os
import struct
import zlib
from collections.abc import Sequence
from functools import cache

import pillow_heif
from PIL import Image

_ORIENTATION_TAG = 0x0112


def picture(width: int = 64, height: int = 48, mode: str = "RGB") -> Image.Image:
    """A deterministic, detailed picture (so encoders produce real scan data) in ``mode``."""
    gray = Image.effect_mandelbrot((width, height), (-2.0, -1.25, 1.0, 1.25), 64)
    if mode == "RGB":
        return Image.merge("RGB", (gray, gray.rotate(90, expand=False), gray.point(_invert)))
    return gray.convert(mode)


def _invert(value: int) -> int:
    return 255 - value


def _encode(image: Image.Image, pillow_format: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, pillow_format, **options)
    return buffer.getvalue()


def jpeg_bytes(width: int = 64, height: int = 48, *, progressive: bool = False) -> bytes:
    """A baseline (or progressive) RGB JPEG."""
    return _encode(picture(width, height), "JPEG", quality=90, progressive=progressive)


def jpeg_with_orientation(orientation: int = 6, width: int = 64, height: int = 48) -> bytes:
    """A JPEG whose EXIF orientation tag (0x0112) is ``orientation``; pixels are not rotated."""
    exif = Image.Exif()
    exif[_ORIENTATION_TAG] = orientation
    return _encode(picture(width, height), "JPEG", exif=exif.tobytes())


def mpo_bytes(width: int = 64, height: int = 48) -> bytes:
    """A two-picture MPO (a JPEG file with a second JPEG, as cameras write)."""
    first = picture(width, height)
    return _encode(first, "MPO", save_all=True, append_images=[first.point(_invert)])


def png_bytes(width: int = 64, height: int = 48, mode: str = "RGBA") -> bytes:
    """A PNG in ``mode`` (RGBA by default)."""
    return _encode(picture(width, height, mode), "PNG")


def webp_bytes(width: int = 64, height: int = 48) -> bytes:
    """A lossy RGB WebP."""
    return _encode(picture(width, height), "WEBP", quality=80)


def gif_bytes(width: int = 64, height: int = 48, frames: int = 1) -> bytes:
    """A palette GIF with ``frames`` distinct frames (animated when more than one)."""
    first, *rest = [_gif_frame(width, height, index) for index in range(frames)]
    return _encode(first, "GIF", save_all=frames > 1, append_images=rest, duration=50, loop=0)


def _gif_frame(width: int, height: int, index: int) -> Image.Image:
    # Distinct frames: Pillow merges identical consecutive frames when saving.
    return picture(width, height, "L").point(lambda v: (v + 40 * index) % 256).convert("P")


def tiff_bytes(
    width: int = 64, height: int = 48, *, extra_pages: Sequence[tuple[int, int]] = ()
) -> bytes:
    """An RGB TIFF; ``extra_pages`` adds pages of the given (width, height)."""
    pages = [picture(w, h) for w, h in extra_pages]
    options = {"compression": "tiff_deflate", "save_all": True, "append_images": pages}
    return _encode(picture(width, height), "TIFF", **options)


def heic_bytes(width: int = 64, height: int = 48, orientation: int = 1) -> bytes:
    """An RGB HEIC (HEVC-coded HEIF, major brand ``heic``), with an EXIF orientation."""
    exif = Image.Exif()
    exif[_ORIENTATION_TAG] = orientation
    buffer = io.BytesIO()
    heif = pillow_heif.from_pillow(picture(width, height))
    heif.save(buffer, quality=60, exif=exif.tobytes())
    return buffer.getvalue()


def heif_generic_bytes(width: int = 64, height: int = 48) -> bytes:
    """:func:`heic_bytes` relabelled with only generic HEIF brands (``mif1``): ``image/heif``."""
    data = heic_bytes(width, height)
    return data.replace(b"ftypheic\0\0\0\0mif1heic", b"ftypmif1\0\0\0\0mif1miaf", 1)


def avif_bytes(width: int = 64, height: int = 48) -> bytes:
    """An AVIF (off the default allow-list)."""
    return _encode(picture(width, height), "AVIF", quality=60)


def bmp_bytes(width: int = 64, height: int = 48) -> bytes:
    """A BMP (off the default allow-list)."""
    return _encode(picture(width, height), "BMP")


def text_bytes() -> bytes:
    """Plain UTF-8 text: not an image at all."""
    return "Café crème, not a picture of one.\n".encode() * 4


def truncated_jpeg(width: int = 256, height: int = 192, *, progressive: bool = False) -> bytes:
    """A JPEG cut in the middle of its scan data (header intact, no end marker)."""
    data = jpeg_bytes(width, height, progressive=progressive)
    return data[: _middle_of_scan(data)]


def corrupt_jpeg(width: int = 256, height: int = 192, *, progressive: bool = False) -> bytes:
    """A JPEG with its scan data overwritten in the middle; header and length intact.

    The overwrite holds start-of-image markers, which libjpeg treats as fatal. Arbitrary
    garbage is not enough: libjpeg only *warns* about most bad entropy data, fills the
    damaged blocks and finishes, and Pillow does not surface its warnings.
    """
    data = jpeg_bytes(width, height, progressive=progressive)
    middle = _middle_of_scan(data)
    damage = b"\xff\xd8" * 16
    return data[:middle] + damage + data[middle + len(damage) :]


def _middle_of_scan(data: bytes) -> int:
    start_of_scan = data.rindex(b"\xff\xda")  # the last scan, for progressive files too
    return (start_of_scan + len(data)) // 2


@cache
def bomb_png(width: int = 20_000, height: int = 20_000) -> bytes:
    """A valid, black, 1-bit PNG that is tiny on disk (~50 KB at the default size).

    Its header honestly claims ``width`` x ``height``: decoding it allocates one byte per
    pixel in Pillow (400 MB at the default size) and takes a noticeable time.
    """
    row = b"\x00" * (1 + (width + 7) // 8)  # filter byte + packed 1-bit pixels
    compressor = zlib.compressobj(9)
    rows_per_chunk = max(1, (1 << 22) // len(row))
    chunks = [
        compressor.compress(row * min(rows_per_chunk, height - first))
        for first in range(0, height, rows_per_chunk)
    ]
    chunks.append(compressor.flush())
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit grayscale
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", b"".join(chunks))
        + _png_chunk(b"IEND", b"")
    )


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload)
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def noise_png(side: int) -> bytes:
    """A PNG of random pixels: incompressible, about ``3 * side**2`` bytes (large uploads)."""
    image = Image.frombytes("RGB", (side, side), os.urandom(side * side * 3))
    out = io.BytesIO()
    image.save(out, "PNG", compress_level=1)
    return out.getvalue()
