"""What the decoders raise on malformed bytes."""

from __future__ import annotations

import struct

DECODE_ERRORS: tuple[type[Exception], ...] = (
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
