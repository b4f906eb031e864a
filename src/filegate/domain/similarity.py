"""Near-duplicates by perceptual hash: how far apart two 64-bit hashes are.

The distance is the Hamming distance: how many of the 64 bits differ (0 = the same
picture as far as the hash sees, 64 = every bit differs). Hashes are unsigned in the core.
"""

from __future__ import annotations

from dataclasses import dataclass

from filegate.domain.models import FileRecord

HASH_BITS = 64
DEFAULT_MAX_DISTANCE = 10
"""Distance within which files count as similar unless the caller says otherwise."""
_MASK = (1 << HASH_BITS) - 1


@dataclass(frozen=True)
class SimilarFile:
    """A file found near a perceptual hash, and how near (``distance`` differing bits)."""

    record: FileRecord
    distance: int


def hamming_distance(a: int, b: int) -> int:
    """How many of the 64 low bits differ between ``a`` and ``b`` (signed or unsigned)."""
    return ((a ^ b) & _MASK).bit_count()


def nearest_first(found: list[SimilarFile]) -> list[SimilarFile]:
    """The order of similar files: nearest first, then newest (``created_at``, then ``id``,
    both descending), as every repository returns them."""
    by_newest = sorted(found, key=lambda f: (f.record.created_at, f.record.id), reverse=True)
    return sorted(by_newest, key=lambda f: f.distance)
