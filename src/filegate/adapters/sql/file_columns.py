"""How a file's image facts, renditions and print size map to columns of ``files``.

The facts every listing shows have columns of their own (format, size, orientation, mode,
frames); the rest is one JSON object (``image_facts``), renditions a JSON list. The
perceptual hash is unsigned 64-bit in the core and signed in the database (``BIGINT``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeAlias, overload

from sqlalchemy.engine import RowMapping

from filegate.domain.models import ImageInfo, PrintSize, Rendition, RenditionName

_FACTS = (
    "animated",
    "bit_depth",
    "cmyk",
    "icc_embedded",
    "icc_description",
    "dpi",
    "captured_at",
    "camera_make",
    "camera_model",
    "has_location",
)
_SIGN_BIT = 1 << 63

Columns: TypeAlias = Mapping[str, Any] | RowMapping
"""A ``files`` row's values by column name: SQLAlchemy's row, or a plain mapping."""


def image_columns(image: ImageInfo | None) -> dict[str, Any]:
    """Columns holding ``image`` (all ``NULL`` for none)."""
    if image is None:
        return dict.fromkeys(
            ("image_format", "width", "height", "orientation", "color_mode", "frames")
        ) | {"image_facts": None}
    facts = {name: getattr(image, name) for name in _FACTS}
    return {
        "image_format": image.format,
        "width": image.width,
        "height": image.height,
        "orientation": image.orientation,
        "color_mode": image.mode,
        "frames": image.frames,
        "image_facts": facts | {"dpi": list(image.dpi) if image.dpi else None},
    }


def image_of(values: Columns) -> ImageInfo | None:
    if values["image_format"] is None:
        return None
    facts = dict(values["image_facts"] or {})
    dpi = facts.pop("dpi", None)
    return ImageInfo(
        format=values["image_format"],
        width=values["width"],
        height=values["height"],
        orientation=values["orientation"],
        mode=values["color_mode"],
        frames=values["frames"],
        dpi=(float(dpi[0]), float(dpi[1])) if dpi else None,
        **{name: facts[name] for name in _FACTS if name in facts and name != "dpi"},
    )


def renditions_column(renditions: tuple[Rendition, ...]) -> list[dict[str, Any]]:
    return [
        {
            "name": r.name.value,
            "content_type": r.content_type,
            "width": r.width,
            "height": r.height,
            "size": r.size,
        }
        for r in renditions
    ]


def renditions_of(value: list[dict[str, Any]] | None) -> tuple[Rendition, ...]:
    return tuple(
        Rendition(
            name=RenditionName(item["name"]),
            content_type=item["content_type"],
            width=item["width"],
            height=item["height"],
            size=item["size"],
        )
        for item in value or ()
    )


@overload
def hash_column(value: int) -> int: ...
@overload
def hash_column(value: None) -> None: ...
@overload
def hash_column(value: int | None) -> int | None: ...
def hash_column(value: int | None) -> int | None:
    """The unsigned 64-bit hash as the signed integer a ``BIGINT`` holds."""
    return None if value is None else value - (1 << 64) if value & _SIGN_BIT else value


def hash_of(value: int | None) -> int | None:
    return None if value is None else value & ((1 << 64) - 1)


def print_columns(size: PrintSize | None) -> dict[str, float | None]:
    return {
        "print_width_mm": size.width_mm if size else None,
        "print_height_mm": size.height_mm if size else None,
    }


def print_size_of(values: Columns) -> PrintSize | None:
    width, height = values["print_width_mm"], values["print_height_mm"]
    return None if width is None or height is None else PrintSize(width, height)
