"""Photos with the properties that matter to a photo product, made in code.

Each picture is split into quadrants of known colours, so that orientation and colour
handling can be checked by reading one pixel per quadrant.
"""

from __future__ import annotations

import io
import struct
import zlib

import pillow_jxl  # noqa: F401  (lets Pillow write JPEG XL)
import pyvips
from PIL import ExifTags, Image

RED, GREEN, BLUE, WHITE = (220, 30, 30), (30, 200, 40), (30, 40, 210), (240, 240, 240)


def quadrants(width: int = 400, height: int = 300) -> Image.Image:
    """Red top-left, green top-right, blue bottom-left, white bottom-right."""
    image = Image.new("RGB", (width, height), WHITE)
    half_w, half_h = width // 2, height // 2
    image.paste(RED, (0, 0, half_w, half_h))
    image.paste(GREEN, (half_w, 0, width, half_h))
    image.paste(BLUE, (0, half_h, half_w, height))
    return image


def encoded(image: Image.Image, pillow_format: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, pillow_format, **options)
    return buffer.getvalue()


def exif(
    orientation: int = 1,
    *,
    gps: bool = False,
    taken: str | None = None,
    offset: str | None = None,
    make: str | None = None,
    model: str | None = None,
) -> Image.Exif:
    data = Image.Exif()
    data[ExifTags.Base.Orientation] = orientation
    if make:
        data[ExifTags.Base.Make] = make
    if model:
        data[ExifTags.Base.Model] = model
    details = data.get_ifd(ExifTags.IFD.Exif)
    if taken:
        details[ExifTags.Base.DateTimeOriginal] = taken
    if offset:
        details[ExifTags.Base.OffsetTimeOriginal] = offset
    if gps:
        data.get_ifd(ExifTags.IFD.GPSInfo).update(
            {
                ExifTags.GPS.GPSLatitudeRef: "N",
                ExifTags.GPS.GPSLatitude: (48.0, 51.0, 29.0),
                ExifTags.GPS.GPSLongitudeRef: "E",
                ExifTags.GPS.GPSLongitude: (2.0, 17.0, 40.0),
            }
        )
    return data


def in_display_p3(image: Image.Image, pillow_format: str = "PNG") -> bytes:
    """``image``'s sRGB colours converted to Display P3, with the P3 profile embedded."""
    vips = pyvips.Image.new_from_memory(image.tobytes(), image.width, image.height, 3, "uchar")
    p3 = vips.copy(interpretation="srgb").icc_transform("p3", input_profile="srgb")
    converted = Image.frombytes("RGB", image.size, p3.cast("uchar").write_to_memory())
    icc = Image.open(io.BytesIO(p3.cast("uchar").pngsave_buffer())).info["icc_profile"]
    return encoded(converted, pillow_format, icc_profile=icc)


def cmyk_jpeg(width: int = 400, height: int = 300) -> bytes:
    """A CMYK JPEG of pure red (no magenta-yellow imbalance, no profile)."""
    return encoded(Image.new("CMYK", (width, height), (0, 255, 255, 0)), "JPEG", quality=95)


def twelve_bit_jpeg() -> bytes:
    """A JPEG whose frame header says 12 bits per sample (Pillow cannot decode those)."""
    data = bytearray(encoded(quadrants(64, 48), "JPEG"))
    sof = data.index(b"\xff\xc0")
    data[sof + 4] = 12
    return bytes(data)


def png_corrupt_after_header(width: int = 256, height: int = 192) -> bytes:
    """A PNG whose image data is damaged (inflates to garbage) with every CRC valid, so
    only the decode can tell; it carries EXIF after the image data, as phones write it."""
    data = encoded(quadrants(width, height), "PNG", exif=exif(6).tobytes())
    chunks = [c for c in _chunks(data) if c[0] != b"eXIf"]
    exif_chunk = next(c for c in _chunks(data) if c[0] == b"eXIf")
    chunks.insert(len(chunks) - 1, exif_chunk)  # after the image data, before IEND
    rebuilt = [data[:8]]
    for kind, payload in chunks:
        if kind == b"IDAT":
            payload = payload[:20] + bytes(len(payload) - 40) + payload[-20:]
        rebuilt.append(_chunk(kind, payload))
    return b"".join(rebuilt)


def _chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    chunks, at = [], 8
    while at < len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        chunks.append((data[at + 4 : at + 8], data[at + 8 : at + 8 + length]))
        at += 12 + length
    return chunks


def _chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)
