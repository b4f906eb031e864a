"""Identify and fully decode one image file within limits. The only module importing Pillow.

:func:`inspect_path` is pure and synchronous, meant to run inside a disposable worker
process (see :mod:`filegate.imaging.pool`). While it runs it sets Pillow's
process-wide knobs (``Image.MAX_IMAGE_PIXELS``, ``ImageFile.LOAD_TRUNCATED_IMAGES``, the
warning filters), so it must not run concurrently with other Pillow users in one process.

The type always comes from the file's magic bytes, never from a name or a declared type.
"""

from __future__ import annotations

import struct
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import BinaryIO

import pillow_heif
from PIL import Image, ImageFile, JpegImagePlugin

from filegate.domain.models import ImageInfo, Inspection, RejectionReason

_HEAD_SIZE = 256
"""Bytes read for sniffing: enough for every signature and a typical ``ftyp`` box."""

_ORIENTATION_TAG = 0x0112
_JPEG_DRAFT_SCALE = 8
"""DCT scaling for JPEG: still entropy-decodes every block (so truncation and fatal scan
errors raise) but skips most of the inverse DCT and colour work."""

_DECODE_ERRORS: tuple[type[Exception], ...] = (
    OSError,  # includes UnidentifiedImageError and "image file is truncated"
    SyntaxError,
    ValueError,  # pillow_heif reports libheif errors as ValueError
    TypeError,  # e.g. TIFF "Missing dimensions" while counting pages
    IndexError,
    KeyError,
    EOFError,
    struct.error,
    ZeroDivisionError,
    OverflowError,
    RuntimeError,
)
"""What Pillow's parsers and decoders raise on malformed bytes: the file is corrupt."""


@dataclass(frozen=True)
class ImageLimits:
    """What an acceptable image may be: its types (MIME) and its size in pixels and frames."""

    allowed_types: tuple[str, ...]
    max_pixels: int
    max_frames: int

    def __post_init__(self) -> None:
        if self.max_pixels < 1 or self.max_frames < 1:
            raise ValueError("max_pixels and max_frames must be at least 1")


@dataclass(frozen=True)
class _Kind:
    """A recognised image type and the Pillow format that decodes it (``None``: none does)."""

    content_type: str
    pillow_format: str | None


def _starts_with(*prefixes: bytes) -> Callable[[bytes], bool]:
    return lambda head: head.startswith(prefixes)


def _is_webp(head: bytes) -> bool:
    return head[:4] == b"RIFF" and head[8:12] == b"WEBP"


_DIB_HEADER_SIZES = frozenset({12, 40, 52, 56, 64, 108, 124})


def _is_bmp(head: bytes) -> bool:
    # "BM" alone is too weak (plenty of text starts so); also require a known DIB header size.
    return head[:2] == b"BM" and int.from_bytes(head[14:18], "little") in _DIB_HEADER_SIZES


_SIGNATURES: tuple[tuple[_Kind, Callable[[bytes], bool]], ...] = (
    (_Kind("image/jpeg", "JPEG"), _starts_with(b"\xff\xd8\xff")),
    (_Kind("image/png", "PNG"), _starts_with(b"\x89PNG\r\n\x1a\n")),
    (_Kind("image/gif", "GIF"), _starts_with(b"GIF87a", b"GIF89a")),
    (_Kind("image/webp", "WEBP"), _is_webp),
    (_Kind("image/tiff", "TIFF"), _starts_with(b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")),
    (_Kind("image/bmp", "BMP"), _is_bmp),
    (_Kind("image/vnd.microsoft.icon", "ICO"), _starts_with(b"\x00\x00\x01\x00")),
    (_Kind("image/vnd.adobe.photoshop", "PSD"), _starts_with(b"8BPS")),
    (_Kind("image/jp2", "JPEG2000"), _starts_with(b"\x00\x00\x00\x0cjP  \r\n\x87\n")),
    (_Kind("image/jxl", None), _starts_with(b"\xff\x0a", b"\x00\x00\x00\x0cJXL \r\n\x87\n")),
    (_Kind("image/qoi", "QOI"), _starts_with(b"qoif")),
)

_HEIC_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs"})
_AVIF_BRANDS = frozenset({b"avif", b"avis"})
_GENERIC_HEIF_BRANDS = frozenset({b"mif1", b"msf1", b"mif2", b"miaf"})
_ISO_KINDS = {
    "image/heic": _Kind("image/heic", "HEIF"),
    "image/heif": _Kind("image/heif", "HEIF"),
    "image/avif": _Kind("image/avif", "AVIF"),
}


def _iso_image_type(head: bytes) -> str | None:
    """The MIME type of an ISO-BMFF image (HEIC, HEIF, AVIF) from its ``ftyp`` brands."""
    if head[4:8] != b"ftyp":
        return None
    major = head[8:12]
    box_end = min(int.from_bytes(head[:4], "big"), len(head))
    brands = {major} | {head[i : i + 4] for i in range(16, box_end - 3, 4)}
    if major in _HEIC_BRANDS:
        return "image/heic"
    if major in _AVIF_BRANDS:
        return "image/avif"
    if major not in _GENERIC_HEIF_BRANDS:
        return None  # MP4, QuickTime and other non-image ISO media
    if brands & _HEIC_BRANDS:
        return "image/heic"
    if brands & _AVIF_BRANDS:
        return "image/avif"
    return "image/heif"


def _sniff(head: bytes) -> _Kind | None:
    iso_type = _iso_image_type(head)
    if iso_type is not None:
        return _ISO_KINDS[iso_type]
    return next((kind for kind, matches in _SIGNATURES if matches(head)), None)


def prepare_pillow() -> None:
    """Load every Pillow plugin and the HEIF opener now, so that no inspection pays for it.

    Optional (:func:`inspect_path` does what it needs); worker processes call it at start.
    """
    _register_heif_opener()
    Image.init()


@cache
def _register_heif_opener() -> None:
    # One decode thread: each worker process is one CPU slot of the pool.
    pillow_heif.register_heif_opener(
        thumbnails=False, depth_images=False, aux_images=False, decode_threads=1
    )


@contextmanager
def _pillow_guards(max_pixels: int) -> Iterator[None]:
    """Pillow's own bomb check at our limit (as an error), no truncated loads, quiet warnings."""
    saved = Image.MAX_IMAGE_PIXELS, ImageFile.LOAD_TRUNCATED_IMAGES
    Image.MAX_IMAGE_PIXELS = max_pixels
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. "Corrupt EXIF data": noise, not a verdict
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            yield
    finally:
        Image.MAX_IMAGE_PIXELS, ImageFile.LOAD_TRUNCATED_IMAGES = saved


def inspect_path(path: Path, limits: ImageLimits) -> Inspection:
    """What the file at ``path`` is: a rejection reason, or its type and image facts.

    Identifies the type from magic bytes, checks the allow-list, checks pixels and frames
    from the headers, then decodes every frame. Malformed bytes never raise: they give
    ``CORRUPT_IMAGE``; a ``MemoryError`` gives ``DECODE_MEMORY_EXCEEDED``. Failing to open
    or read the file before decoding starts (missing, unreadable) raises ``OSError``: that
    is not the file's fault.
    """
    with path.open("rb") as fp:
        head = fp.read(_HEAD_SIZE)
        if not head:
            return Inspection(RejectionReason.EMPTY_FILE)
        kind = _sniff(head)
        if kind is None:
            return Inspection(RejectionReason.NOT_AN_IMAGE)
        if kind.content_type not in limits.allowed_types or kind.pillow_format is None:
            return Inspection(RejectionReason.UNSUPPORTED_FORMAT)
        fp.seek(0)
        return _open_and_decode(fp, kind.content_type, kind.pillow_format, limits)


def _open_and_decode(
    fp: BinaryIO, content_type: str, pillow_format: str, limits: ImageLimits
) -> Inspection:
    _register_heif_opener()
    try:
        with _pillow_guards(limits.max_pixels), Image.open(fp, formats=[pillow_format]) as im:
            return _inspect_image(im, content_type, limits)
    except MemoryError:
        return Inspection(RejectionReason.DECODE_MEMORY_EXCEEDED)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        return Inspection(RejectionReason.IMAGE_TOO_LARGE)
    except _DECODE_ERRORS:
        return Inspection(RejectionReason.CORRUPT_IMAGE)


def _inspect_image(im: Image.Image, content_type: str, limits: ImageLimits) -> Inspection:
    """Header checks first (nothing decoded yet), then a full decode of every frame."""
    if _pixels(im) > limits.max_pixels:
        return Inspection(RejectionReason.IMAGE_TOO_LARGE)
    frames: int = getattr(im, "n_frames", 1)
    if frames > limits.max_frames:
        return Inspection(RejectionReason.TOO_MANY_FRAMES)
    info = ImageInfo(
        format=im.format or "",
        width=im.width,
        height=im.height,
        orientation=_orientation(im),
        mode=im.mode,
        frames=frames,
    )
    rejection = _decode_frames(im, frames, limits.max_pixels)
    if rejection is not None:
        return Inspection(rejection)
    return Inspection(reason=None, content_type=content_type, image=info)


def _decode_frames(im: Image.Image, frames: int, max_pixels: int) -> RejectionReason | None:
    """Decode frames ``0..frames-1``; a frame may have its own (larger) size, so check each."""
    for index in range(frames):
        if index:
            im.seek(index)
            if _pixels(im) > max_pixels:
                return RejectionReason.IMAGE_TOO_LARGE
        # draft() on a multi-frame JPEG (MPO) leaves a scale that breaks the later frames.
        if frames == 1 and isinstance(im, JpegImagePlugin.JpegImageFile):
            scale = _JPEG_DRAFT_SCALE
            im.draft(None, (max(1, im.width // scale), max(1, im.height // scale)))
        im.load()
    return None


def _pixels(im: Image.Image) -> int:
    return im.width * im.height


def _orientation(im: Image.Image) -> int:
    """EXIF orientation (1-8); 1 when absent, invalid or unreadable (metadata, not pixels)."""
    try:
        value = im.getexif().get(_ORIENTATION_TAG, 1)
    except _DECODE_ERRORS:
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1
