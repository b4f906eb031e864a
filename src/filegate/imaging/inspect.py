"""Identify and fully decode one image file within limits, then read its facts and make
its renditions from that same decode.

:func:`inspect_path` is pure and synchronous, meant to run inside a disposable worker
process (see :mod:`filegate.imaging.pool`). While it runs it sets Pillow's
process-wide knobs (``Image.MAX_IMAGE_PIXELS``, ``ImageFile.LOAD_TRUNCATED_IMAGES``, the
warning filters), so it must not run concurrently with other Pillow users in one process.

The type always comes from the file's magic bytes, never from a name or a declared type.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import BinaryIO

import pillow_heif
from PIL import Image, ImageCms, ImageFile, ImageOps

from filegate.domain.models import Inspection, RejectionReason
from filegate.imaging import jpeg
from filegate.imaging.errors import DECODE_ERRORS
from filegate.imaging.facts import read_facts
from filegate.imaging.renditions import RenditionSpec, derive

_HEAD_SIZE = 256
"""Bytes read for sniffing: enough for every signature and a typical ``ftyp`` box."""

_JPEG_PRECISION = 8
"""The only JPEG sample precision decoded (12-bit JPEG is a different decoder)."""
_SRGB = ImageCms.createProfile("sRGB")
_SIXTEEN_BIT_MODES = frozenset({"I;16", "I;16B", "I;16L", "I;16N", "I"})


@dataclass(frozen=True)
class ImageLimits:
    """What an acceptable image may be: its types (MIME), its size in pixels and frames,
    and whether a decoder warning (damaged JPEG data it could work around) rejects it."""

    allowed_types: tuple[str, ...]
    max_pixels: int
    max_frames: int
    strict: bool = True

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
    (_Kind("image/jxl", "JXL"), _starts_with(b"\xff\x0a", b"\x00\x00\x00\x0cJXL \r\n\x87\n")),
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
    """Load every Pillow plugin and the HEIF and JPEG XL openers now, so that no
    inspection pays for it.

    Optional (:func:`inspect_path` does what it needs); worker processes call it at start.
    """
    _register_openers()
    Image.init()


@cache
def _register_openers() -> None:
    # One decode thread: each worker process is one CPU slot of the pool.
    pillow_heif.register_heif_opener(
        thumbnails=False, depth_images=False, aux_images=False, decode_threads=1
    )
    import pillow_jxl  # noqa: F401  (registers the JXL format with Pillow on import)


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


def inspect_path(
    path: Path,
    limits: ImageLimits,
    spec: RenditionSpec | None = None,
    renditions_dir: Path | None = None,
) -> Inspection:
    """What the file at ``path`` is: a rejection reason, or its type, facts, placeholder,
    perceptual hash and (with ``renditions_dir``) the renditions ``spec`` asks for.

    Identifies the type from magic bytes, checks the allow-list, checks pixels and frames
    from the headers, then decodes every frame; facts are read only after that decode
    succeeded. Malformed bytes never raise: they give ``CORRUPT_IMAGE``; a ``MemoryError``
    gives ``DECODE_MEMORY_EXCEEDED``. Failing to open or read the file before decoding
    starts (missing, unreadable) raises ``OSError``: that is not the file's fault.
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
        if kind.pillow_format == "JPEG" and jpeg.sample_precision(fp) != _JPEG_PRECISION:
            return Inspection(RejectionReason.UNSUPPORTED_FORMAT)
        fp.seek(0)
        job = _Job(path, head, kind, limits, spec or RenditionSpec(), renditions_dir)
        return _open_and_decode(fp, job)


@dataclass(frozen=True)
class _Job:
    path: Path
    head: bytes
    kind: _Kind
    limits: ImageLimits
    spec: RenditionSpec
    renditions_dir: Path | None


def _open_and_decode(fp: BinaryIO, job: _Job) -> Inspection:
    _register_openers()
    assert job.kind.pillow_format is not None
    try:
        with (
            _pillow_guards(job.limits.max_pixels),
            Image.open(fp, formats=[job.kind.pillow_format]) as im,
        ):
            return _inspect_image(im, job)
    except MemoryError:
        return Inspection(RejectionReason.DECODE_MEMORY_EXCEEDED)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        return Inspection(RejectionReason.IMAGE_TOO_LARGE)
    except (*DECODE_ERRORS, jpeg.VipsError):
        return Inspection(RejectionReason.CORRUPT_IMAGE)


def _inspect_image(im: Image.Image, job: _Job) -> Inspection:
    """Header checks first (nothing decoded yet), then the decode, then facts and the rest."""
    limits = job.limits
    if _pixels(im) > limits.max_pixels:
        return Inspection(RejectionReason.IMAGE_TOO_LARGE)
    frames: int = getattr(im, "n_frames", 1)
    if frames > limits.max_frames:
        return Inspection(RejectionReason.TOO_MANY_FRAMES)
    picture = _decoded_picture(im, frames, job)
    if isinstance(picture, RejectionReason):
        return Inspection(picture)
    info = read_facts(im, job.head, frames)
    derived = derive(picture, job.spec, job.renditions_dir)
    return Inspection(
        reason=None,
        content_type=job.kind.content_type,
        image=info,
        placeholder=derived.placeholder,
        perceptual_hash=derived.perceptual_hash,
        renditions=derived.renditions,
    )


def _decoded_picture(im: Image.Image, frames: int, job: _Job) -> Image.Image | RejectionReason:
    """Decode every frame; the first frame as displayed (oriented, sRGB, RGB).

    A JPEG's first frame is decoded by libvips at the scale the renditions need (see
    :mod:`filegate.imaging.jpeg`); every other frame and format by Pillow, in full.
    """
    if job.kind.pillow_format == "JPEG":
        picture = jpeg.decode_displayed(
            job.path, strict=job.limits.strict, edge=job.spec.largest_edge
        )
        rejection = _decode_frames(im, frames, job.limits.max_pixels, first=1)
        im.seek(0)
        return rejection or picture
    rejection = _decode_frames(im, frames, job.limits.max_pixels, first=0)
    if rejection is not None:
        return rejection
    if frames > 1:
        im.seek(0)
        im.load()
    return _displayed(im)


def _decode_frames(
    im: Image.Image, frames: int, max_pixels: int, first: int
) -> RejectionReason | None:
    """Decode frames ``first..frames-1``; a frame may have its own (larger) size."""
    for index in range(first, frames):
        if index:
            im.seek(index)
            if _pixels(im) > max_pixels:
                return RejectionReason.IMAGE_TOO_LARGE
        im.load()
    return None


def _displayed(im: Image.Image) -> Image.Image:
    """The decoded frame as a viewer shows it: oriented, in sRGB, RGB over white."""
    picture = ImageOps.exif_transpose(im) or im
    icc = im.info.get("icc_profile")
    if picture.mode in _SIXTEEN_BIT_MODES:
        picture = picture.convert("I").point(lambda value: value / 256).convert("L")
    if icc:
        picture = _to_srgb(picture, icc)
    if picture.has_transparency_data:
        rgba = picture.convert("RGBA")
        backdrop = Image.new("RGB", picture.size, "white")
        backdrop.paste(rgba, mask=rgba.getchannel("A"))
        return backdrop
    return picture.convert("RGB")


def _to_srgb(picture: Image.Image, icc: bytes) -> Image.Image:
    """Colours converted from the embedded profile to sRGB (unchanged if it is unusable)."""
    mode = picture.mode if picture.mode in ("RGB", "CMYK", "L") else "RGB"
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        converted = ImageCms.profileToProfile(
            picture.convert(mode), source, _SRGB, outputMode="RGB"
        )
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return picture
    return converted if converted is not None else picture


def _pixels(im: Image.Image) -> int:
    return im.width * im.height
