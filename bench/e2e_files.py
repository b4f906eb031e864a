"""The end-to-end corpus: distinct photo-like JPEGs, made once and kept in a cache folder.

Every file is the same seeded picture rolled by its own offset (so each has other bytes
and its own SHA-256, yet the same detail, size and decode cost), encoded as a camera does.
The folder lives under the system's temporary directory and is named by the recipe, so a
later run finds the files again and a changed recipe makes a new folder.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageChops

from bench.images import jpeg_bytes, seeded_photo

RECIPE = "v1"
"""Bump when the pictures change, so that no run reuses files of the old recipe."""
_SEED = 13
_STEP = (37, 53)
"""Pixels each file is rolled by per index, across and down (primes: no early repeats)."""


@dataclass(frozen=True)
class Photo:
    """One file of the corpus: where it is, its size in bytes and its SHA-256 (hex)."""

    path: Path
    size: int
    sha256: str


def cache_dir(width: int, height: int, root: Path | None = None) -> Path:
    """The folder holding the corpus of pictures ``width`` x ``height``, in ``root``
    (default: the system's temporary directory)."""
    name = f"filegate-bench-e2e-{RECIPE}-{width}x{height}"
    return (root or Path(tempfile.gettempdir())) / name


def photos(count: int, width: int, height: int, root: Path | None = None) -> list[Photo]:
    """``count`` distinct JPEGs, made on first use; the same files on every later call."""
    folder = cache_dir(width, height, root)
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"IMG_{index:05d}.jpg" for index in range(count)]
    missing = [(index, path) for index, path in enumerate(paths) if not path.exists()]
    if missing:
        base = seeded_photo(width, height, _SEED)
        for index, path in missing:
            data = jpeg_bytes(_rolled(base, index))
            _write_atomically(_digest_path(path), hashlib.sha256(data).hexdigest().encode())
            _write_atomically(path, data)
    return [_photo(path) for path in paths]


def _photo(path: Path) -> Photo:
    digest = _digest_path(path)
    if not digest.exists():
        _write_atomically(digest, hashlib.sha256(path.read_bytes()).hexdigest().encode())
    return Photo(path, path.stat().st_size, digest.read_text())


def _digest_path(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def _rolled(base: Image.Image, index: int) -> Image.Image:
    across = (index * _STEP[0]) % base.width
    down = (index * _STEP[1]) % base.height
    return ImageChops.offset(base, across, down)


def _write_atomically(path: Path, data: bytes) -> None:
    # A run stopped half-way leaves a temp file, never a truncated JPEG under the real name.
    partial = path.with_name(f"{path.name}.{os.getpid()}.part")
    partial.write_bytes(data)
    partial.replace(path)
