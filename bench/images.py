"""Photo-like images made with Pillow (no binary fixtures), and their encodings.

A photo's encoded size and decode time come from its detail, so the picture mixes smooth
shapes and gradients with sensor-like noise: a 12 MP JPEG at quality 90 is about 5 MB,
near what a phone camera writes.
"""

from __future__ import annotations

import io
import random

from PIL import Image, ImageChops

_NOISE_SIGMA = 40
_NOISE_SHARE = 0.4


def photo(width: int, height: int) -> Image.Image:
    """A deterministic-looking RGB picture with photo-like detail, ``width`` x ``height``."""
    size = (width, height)
    noise = Image.effect_noise(size, _NOISE_SIGMA)
    return Image.merge("RGB", [Image.blend(c, noise, _NOISE_SHARE) for c in _shapes(size)])


def seeded_photo(width: int, height: int, seed: int) -> Image.Image:
    """Like :func:`photo`, but the same ``seed`` always gives the same pixels.

    The noise is the mean of two seeded uniform noises (triangular, about as wide as
    :func:`photo`'s), as Pillow's own noise cannot be seeded.
    """
    size = (width, height)
    rng = random.Random(seed)
    noise = ImageChops.add(_uniform_noise(size, rng), _uniform_noise(size, rng), scale=2.0)
    return Image.merge("RGB", [Image.blend(c, noise, _NOISE_SHARE) for c in _shapes(size)])


def _shapes(size: tuple[int, int]) -> list[Image.Image]:
    shapes = Image.effect_mandelbrot((400, 300), (-2.0, -1.25, 1.0, 1.25), 64)
    return [
        shapes.resize(size, Image.Resampling.BICUBIC),
        Image.linear_gradient("L").resize(size),
        Image.radial_gradient("L").resize(size),
    ]


def _uniform_noise(size: tuple[int, int], rng: random.Random) -> Image.Image:
    return Image.frombytes("L", size, rng.randbytes(size[0] * size[1]))


def jpeg_bytes(image: Image.Image) -> bytes:
    """A baseline JPEG at quality 90, as cameras and phones write."""
    return _encoded(image, "JPEG", quality=90)


def png_bytes(image: Image.Image) -> bytes:
    """A PNG; fastest compression, to keep set-up short (decoding costs about the same)."""
    return _encoded(image, "PNG", compress_level=1)


def _encoded(image: Image.Image, pillow_format: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, pillow_format, **options)
    return buffer.getvalue()
