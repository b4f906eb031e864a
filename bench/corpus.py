"""A seeded corpus of damaged JPEGs, made from valid ones (no binary fixtures).

Each damage keeps the headers intact, so that the file still sniffs and opens as a JPEG and
only a decoder that checks the entropy-coded scan data can tell: the kinds a broken phone
transfer, a flaky card or a truncated upload produce.
"""

from __future__ import annotations

import io
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from PIL import Image

from bench.images import photo

Damage = Callable[[bytes, int, random.Random], bytes]


@dataclass(frozen=True)
class Damaged:
    kind: str
    data: bytes


def scan_start(data: bytes) -> int:
    """Offset of the first byte of entropy-coded data (after the first SOS header)."""
    sos = data.index(b"\xff\xda")
    return sos + 2 + int.from_bytes(data[sos + 2 : sos + 4], "big")


def _scan_end(data: bytes) -> int:
    return data.rindex(b"\xff\xd9")


def flip_bytes(data: bytes, start: int, rng: random.Random) -> bytes:
    """A few random bytes of the scan data replaced (never by a marker prefix)."""
    out = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        at = rng.randrange(start, _scan_end(data))
        if out[at] != 0xFF and out[at - 1] != 0xFF:
            out[at] = rng.choice([b for b in range(255) if b != out[at]])
    return bytes(out)


def flip_bits(data: bytes, start: int, rng: random.Random) -> bytes:
    """One bit flipped somewhere in the scan data."""
    out = bytearray(data)
    at = rng.randrange(start, _scan_end(data))
    if out[at] != 0xFF and out[at - 1] != 0xFF:
        out[at] ^= 1 << rng.randrange(7)
    return bytes(out)


def zero_block(data: bytes, start: int, rng: random.Random) -> bytes:
    """A run of the scan data zeroed, as a bad sector of a card reads."""
    out = bytearray(data)
    length = rng.randint(16, 4096)
    at = rng.randrange(start, max(start + 1, _scan_end(data) - length))
    out[at : at + length] = bytes(length)
    return bytes(out)


def bad_restart(data: bytes, start: int, rng: random.Random) -> bytes:
    """A restart marker renumbered out of sequence, or removed."""
    markers = [
        i
        for i in range(start, _scan_end(data) - 1)
        if data[i] == 0xFF and 0xD0 <= data[i + 1] <= 0xD7
    ]
    if not markers:
        return flip_bytes(data, start, rng)
    at = rng.choice(markers)
    if rng.random() < 0.5:
        return data[:at] + data[at + 2 :]
    wrong = 0xD0 + ((data[at + 1] - 0xD0 + rng.randint(1, 7)) % 8)
    return data[: at + 1] + bytes([wrong]) + data[at + 2 :]


def truncate(data: bytes, start: int, rng: random.Random) -> bytes:
    """The file cut off part-way through the scan data."""
    return data[: rng.randrange(start + 1, _scan_end(data))]


def splice(data: bytes, start: int, rng: random.Random) -> bytes:
    """A stretch of the scan data duplicated elsewhere, as a bad reassembly does."""
    end = _scan_end(data)
    length = rng.randint(64, 8192)
    source = rng.randrange(start, max(start + 1, end - length))
    target = rng.randrange(start, max(start + 1, end - length))
    chunk = data[source : source + length]
    return data[:target] + chunk + data[target + length :]


DAMAGES: dict[str, Damage] = {
    "flip_bytes": flip_bytes,
    "flip_bit": flip_bits,
    "zero_block": zero_block,
    "bad_restart": bad_restart,
    "truncate": truncate,
    "splice": splice,
}


def originals(width: int = 800, height: int = 600) -> list[bytes]:
    """Valid JPEGs as phones and editors write them: baseline, progressive, restart
    intervals, 4:2:0 and 4:4:4 subsampling, and a greyscale one."""
    picture = photo(width, height)
    variants: list[tuple[Image.Image, dict[str, object]]] = [
        (picture, {"quality": 90}),
        (picture, {"quality": 85, "progressive": True}),
        (picture, {"quality": 92, "restart_marker_blocks": 4}),
        (picture, {"quality": 95, "subsampling": 0}),
        (picture.convert("L"), {"quality": 90}),
    ]
    encoded = []
    for image, options in variants:
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", **options)
        encoded.append(buffer.getvalue())
    return encoded


def damaged(per_kind: int, seed: int = 9, width: int = 800, height: int = 600) -> Iterator[Damaged]:
    """``per_kind`` damaged files of every kind, cycling through the originals."""
    rng = random.Random(seed)
    sources = originals(width, height)
    for kind, damage in DAMAGES.items():
        for index in range(per_kind):
            source = sources[index % len(sources)]
            result = damage(source, scan_start(source), rng)
            if result != source:
                yield Damaged(kind, result)
