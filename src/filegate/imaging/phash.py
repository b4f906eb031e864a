"""A 64-bit perceptual hash (pHash), computed with Pillow and the standard library.

The same algorithm as ``imagehash.phash`` (and bit-for-bit the same result, which the
tests check): greyscale, 32 x 32 with Lanczos, a type-II DCT along both axes, the 8 x 8
lowest frequencies, each bit set where the coefficient exceeds their median. Written here
because imagehash needs NumPy and SciPy, which reserve about 180 MB of address space in
every decode process, where the memory limit (``RLIMIT_AS``) is meant for decoding.
"""

from __future__ import annotations

import math
import statistics
from functools import cache

from PIL import Image

_SIDE = 32
_KEPT = 8


@cache
def _cosines() -> tuple[tuple[float, ...], ...]:
    """``2 cos(pi k (2n + 1) / 2N)`` for the kept frequencies k and every sample n."""
    return tuple(
        tuple(2 * math.cos(math.pi * k * (2 * n + 1) / (2 * _SIDE)) for n in range(_SIDE))
        for k in range(_KEPT)
    )


def _dot(left: tuple[float, ...], right: list[int]) -> float:
    return math.fsum(a * b for a, b in zip(left, right, strict=True))


def perceptual_hash(picture: Image.Image) -> int:
    """The 64-bit pHash of ``picture``, as an unsigned integer (first bit most significant)."""
    grey = picture.convert("L").resize((_SIDE, _SIDE), Image.Resampling.LANCZOS)
    values = list(grey.getdata())
    rows = [values[i * _SIDE : (i + 1) * _SIDE] for i in range(_SIDE)]
    cosines = _cosines()
    # Along each row (keeping 8 frequencies), then down each kept column.
    along_rows = [
        [math.fsum(c * v for c, v in zip(k, row, strict=True)) for k in cosines] for row in rows
    ]
    low = [
        [math.fsum(c * along_rows[n][column] for n, c in enumerate(k)) for column in range(_KEPT)]
        for k in cosines
    ]
    coefficients = [value for line in low for value in line]
    median = statistics.median(coefficients)
    bits = 0
    for value in coefficients:
        bits = (bits << 1) | (value > median)
    return bits
