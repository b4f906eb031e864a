"""Print fitness: whether a photo has the pixels for a print of a given size.

The photo is fitted to the print the way a print shop fits it:

* **Long edge to long edge.** The photo's longer displayed edge (after its EXIF orientation)
  goes along the print's longer edge, so a landscape photo on a portrait print is printed
  turned a quarter. Which way round the client gives ``width_mm`` and ``height_mm`` does
  not matter, and neither does a quarter-turn EXIF orientation (it swaps the displayed
  edges, not their lengths).
* **Covering, cropping the rest.** The photo is scaled until it covers the whole print; what
  overhangs on the other axis is cropped. The axis with fewer pixels per inch therefore
  limits: the effective dpi is the smaller of the two axes' dpi, and the other axis is
  the one cropped. (When the aspect ratios agree, both axes give the same dpi.)

The effective dpi is rounded to the nearest whole dot per inch and the verdict compares
that whole number with the thresholds, so the usual A4 pixel size at 300 dpi
(2480 x 3508 px, 299.96 dpi exactly) is ``good`` at the default threshold of 300.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from filegate.domain.errors import ErrorCode, FilegateError
from filegate.domain.models import FileRecord, ImageInfo, PrintSize

MM_PER_INCH = 25.4
MAX_PRINT_MM = 10_000.0
"""The longest print edge accepted (10 m): beyond any print shop, and keeps the numbers sane."""


class PrintVerdict(StrEnum):
    """How a photo's effective dpi compares with the thresholds."""

    GOOD = "good"
    """At least the good threshold (default 300 dpi)."""
    LOW = "low"
    """At least the low threshold (default 150 dpi), below the good one: visibly soft."""
    TOO_LOW = "too_low"
    """Below the low threshold: pixelated at this size."""


@dataclass(frozen=True)
class PrintThresholds:
    """The dpi a print needs to be ``good`` and at least ``low``; ``0 < low < good``."""

    good_dpi: int = 300
    low_dpi: int = 150

    def __post_init__(self) -> None:
        if not 0 < self.low_dpi < self.good_dpi:
            raise ValueError(
                f"print thresholds need 0 < low < good dpi, got low {self.low_dpi} "
                f"and good {self.good_dpi}"
            )

    def verdict(self, dpi: int) -> PrintVerdict:
        if dpi >= self.good_dpi:
            return PrintVerdict.GOOD
        if dpi >= self.low_dpi:
            return PrintVerdict.LOW
        return PrintVerdict.TOO_LOW


@dataclass(frozen=True)
class PrintFitness:
    """A photo's effective resolution on its print, and what that means."""

    effective_dpi: int
    verdict: PrintVerdict


def check_print_size(size: PrintSize) -> PrintSize:
    """``size`` if both edges are finite, positive and at most :data:`MAX_PRINT_MM`;
    VALIDATION_ERROR otherwise."""
    for name, value in (("width_mm", size.width_mm), ("height_mm", size.height_mm)):
        if not math.isfinite(value) or not 0 < value <= MAX_PRINT_MM:
            raise FilegateError(
                ErrorCode.VALIDATION_ERROR,
                f"print.{name} must be a number above 0 and at most {MAX_PRINT_MM:g} mm.",
                {"max_mm": MAX_PRINT_MM},
            )
    return size


def effective_dpi(image: ImageInfo, size: PrintSize) -> float:
    """The dpi of ``image`` covering a print of ``size``, long edge on long edge (exact)."""
    pixels = sorted((image.display_width, image.display_height))
    inches = sorted((size.width_mm / MM_PER_INCH, size.height_mm / MM_PER_INCH))
    return min(px / edge for px, edge in zip(pixels, inches, strict=True))


def print_fitness(image: ImageInfo, size: PrintSize, thresholds: PrintThresholds) -> PrintFitness:
    """The fitness of ``image`` for a print of ``size`` (see the module's rules)."""
    dpi = math.floor(effective_dpi(image, size) + 0.5)
    return PrintFitness(dpi, thresholds.verdict(dpi))


def fitness_of(record: FileRecord, thresholds: PrintThresholds) -> PrintFitness | None:
    """The file's print fitness from its stored facts; ``None`` until it has both image
    facts and a print size."""
    if record.image is None or record.print_size is None:
        return None
    return print_fitness(record.image, record.print_size, thresholds)
