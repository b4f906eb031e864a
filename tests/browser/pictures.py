"""Image files for the browser tests, written to a folder (the page picks real files).

Photos are generated, never shipped: each one a distinct colourful scene, so a screenshot
of the page looks like a page of photos rather than seven copies of one test pattern.
"""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, ImageDraw

from tests.support import images

_PALETTES = (
    ((255, 183, 77), (230, 81, 0), (38, 50, 56)),
    ((129, 212, 250), (2, 119, 189), (1, 36, 86)),
    ((197, 225, 165), (56, 142, 60), (27, 94, 32)),
    ((248, 187, 208), (194, 24, 91), (74, 20, 140)),
    ((255, 245, 157), (251, 192, 45), (121, 85, 72)),
    ((178, 235, 242), (0, 151, 167), (38, 50, 56)),
    ((209, 196, 233), (94, 53, 177), (26, 35, 126)),
)


def scene(index: int, width: int = 480, height: int = 320) -> bytes:
    """A JPEG "landscape": sky gradient, a sun and hills in palette ``index``'s colours."""
    sky, ground, shade = _PALETTES[index % len(_PALETTES)]
    image = Image.new("RGB", (width, height), sky)
    draw = ImageDraw.Draw(image)
    for y in range(height // 2):
        fade = y / (height / 2)
        colour = tuple(int(c * (1 - 0.35 * fade) + 255 * 0.35 * fade) for c in sky)
        draw.line([(0, y), (width, y)], fill=colour)
    sun_x = width * (0.2 + 0.12 * (index % 6))
    draw.ellipse([sun_x - 36, 40, sun_x + 36, 112], fill=(255, 253, 231))
    for layer, colour in enumerate((ground, shade)):
        top = height * (0.45 + 0.15 * layer)
        points: list[tuple[float, float]] = [(0, height)]
        for step in range(9):
            x = width * step / 8
            wave = ((step * (index + 3) + layer * 5) % 7) / 7
            points.append((x, top + wave * height * 0.18))
        points.append((width, height))
        draw.polygon(points, fill=colour)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def write(folder: Path, name: str, data: bytes) -> Path:
    """``data`` saved as ``folder/name``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(data)
    return path


def photos(folder: Path, count: int) -> list[Path]:
    """``count`` distinct JPEG photos named ``photo-1.jpg``…"""
    return named(folder, [f"photo-{i + 1}.jpg" for i in range(count)])


def named(folder: Path, names: list[str]) -> list[Path]:
    """Distinct JPEG photos under these names."""
    return [write(folder, name, scene(i)) for i, name in enumerate(names)]


def corrupt(folder: Path, name: str = "damaged.jpg") -> Path:
    """A JPEG whose scan data is damaged: it registers and uploads, then is rejected."""
    return write(folder, name, images.corrupt_jpeg(480, 320))
