"""Renditions, placeholder and perceptual hash, made from one decoded, displayed picture.

The input is the picture as a viewer shows it: EXIF orientation applied, colours in sRGB,
at least as large as the preview wherever the original is. Outputs carry no metadata at
all (no EXIF, GPS, ICC or XMP): only the original ever holds those.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import blurhash
from PIL import Image

from filegate.domain.models import Rendition, RenditionFile, RenditionName
from filegate.imaging.phash import perceptual_hash

_CONTENT_TYPES = {"webp": "image/webp", "jpeg": "image/jpeg"}
_WEBP_METHOD = 0
"""libwebp's fastest effort: the preview is for screens, and effort 2+ costs 2-5x."""
_PLACEHOLDER_EDGE = 32
_PLACEHOLDER_COMPONENTS = (4, 3)
"""BlurHash components along the long and the short edge (about 28 characters)."""


@dataclass(frozen=True)
class RenditionSpec:
    """Which renditions to make: long-edge sizes in pixels, format and quality (1-100)."""

    enabled: bool = True
    thumb_edge: int = 320
    preview_edge: int = 1600
    format: str = "webp"
    quality: int = 80

    def __post_init__(self) -> None:
        if self.format not in _CONTENT_TYPES:
            raise ValueError(f"rendition format must be one of {sorted(_CONTENT_TYPES)}")
        if not 16 <= self.thumb_edge <= self.preview_edge <= 8192:
            raise ValueError("need 16 <= thumb_edge <= preview_edge <= 8192")
        if not 1 <= self.quality <= 100:
            raise ValueError("rendition quality must be 1-100")

    @property
    def content_type(self) -> str:
        return _CONTENT_TYPES[self.format]

    @property
    def largest_edge(self) -> int:
        return self.preview_edge if self.enabled else _PLACEHOLDER_EDGE


@dataclass(frozen=True)
class Derived:
    """What one displayed picture gives: its placeholder, hash and rendition files."""

    placeholder: str
    perceptual_hash: int
    renditions: tuple[RenditionFile, ...]


def derive(picture: Image.Image, spec: RenditionSpec, folder: Path | None) -> Derived:
    """Placeholder and hash always; renditions too when enabled and ``folder`` is given.

    ``picture`` must be RGB (sRGB) and oriented; it is not modified.
    """
    preview = _fitted(picture, spec.preview_edge)
    thumb = _fitted(preview, spec.thumb_edge)
    files: tuple[RenditionFile, ...] = ()
    if spec.enabled and folder is not None:
        files = (
            _written(thumb, RenditionName.THUMB, spec, folder),
            _written(preview, RenditionName.PREVIEW, spec, folder),
        )
    return Derived(_placeholder(thumb), perceptual_hash(thumb), files)


def _fitted(picture: Image.Image, edge: int) -> Image.Image:
    """At most ``edge`` pixels on its long side (never enlarged; never a full-size copy)."""
    scale = edge / max(picture.width, picture.height)
    if scale >= 1:
        return picture
    size = (max(1, round(picture.width * scale)), max(1, round(picture.height * scale)))
    # reducing_gap: a box reduction first, then a short bicubic step (fast, still sharp).
    return picture.resize(size, Image.Resampling.BICUBIC, reducing_gap=2.0)


def _written(
    picture: Image.Image, name: RenditionName, spec: RenditionSpec, folder: Path
) -> RenditionFile:
    path = folder / f"{name.value}.{spec.format}"
    if spec.format == "webp":
        picture.save(path, "WEBP", quality=spec.quality, method=_WEBP_METHOD)
    else:
        picture.save(path, "JPEG", quality=spec.quality, optimize=False, progressive=True)
    rendition = Rendition(
        name=name,
        content_type=spec.content_type,
        width=picture.width,
        height=picture.height,
        size=path.stat().st_size,
    )
    return RenditionFile(rendition=rendition, path=str(path))


def _placeholder(thumb: Image.Image) -> str:
    small = _fitted(thumb, _PLACEHOLDER_EDGE).copy()  # blurhash closes the image it is given
    long_side, short_side = _PLACEHOLDER_COMPONENTS
    x, y = (long_side, short_side) if small.width >= small.height else (short_side, long_side)
    return str(blurhash.encode(small, x_components=x, y_components=y))
