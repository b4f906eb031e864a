"""Print fitness: long edge on long edge, covering the print, whole dpi against thresholds."""

from __future__ import annotations

import dataclasses
import math

import pytest

from filegate.domain.errors import ErrorCode, FilegateError
from filegate.domain.models import ImageInfo, PrintSize
from filegate.domain.printing import (
    MAX_PRINT_MM,
    PrintFitness,
    PrintThresholds,
    PrintVerdict,
    check_print_size,
    effective_dpi,
    fitness_of,
    print_fitness,
)
from tests.support.records import make_record

LANDSCAPE = ImageInfo(format="JPEG", width=6000, height=4000, orientation=1, mode="RGB")
DEFAULTS = PrintThresholds()


def photo(width: int, height: int, orientation: int = 1) -> ImageInfo:
    return dataclasses.replace(LANDSCAPE, width=width, height=height, orientation=orientation)


def test_a_matching_aspect_ratio_gives_the_same_dpi_on_both_axes() -> None:
    # 6000 px over 508 mm (20 in) and 4000 px over 338.67 mm (13.33 in): 300 dpi each.
    assert effective_dpi(LANDSCAPE, PrintSize(508.0, 508.0 * 4 / 6)) == pytest.approx(300.0)


def test_a_portrait_print_of_a_landscape_photo_is_fitted_rotated() -> None:
    landscape_print = PrintSize(297.0, 210.0)
    portrait_print = PrintSize(210.0, 297.0)
    assert effective_dpi(LANDSCAPE, portrait_print) == effective_dpi(LANDSCAPE, landscape_print)


def test_the_axis_with_fewer_pixels_per_inch_limits_the_rest_is_cropped() -> None:
    # A square print 254 mm (10 in): the short edge (4000 px) must cover it -> 400 dpi;
    # the long edge would give 600 dpi, and its overhang is cropped.
    assert effective_dpi(LANDSCAPE, PrintSize(254.0, 254.0)) == pytest.approx(400.0)
    # A panorama print 1016 x 127 mm (40 x 5 in): the long edge limits -> 150 dpi.
    assert effective_dpi(LANDSCAPE, PrintSize(1016.0, 127.0)) == pytest.approx(150.0)


def test_the_displayed_size_is_used_and_a_quarter_turn_changes_nothing() -> None:
    stored_portrait_shown_landscape = photo(4000, 6000, orientation=6)
    assert stored_portrait_shown_landscape.display_width == 6000
    size = PrintSize(254.0, 254.0)
    assert effective_dpi(stored_portrait_shown_landscape, size) == effective_dpi(LANDSCAPE, size)


def test_fitness_rounds_to_whole_dpi_and_the_verdict_uses_that_number() -> None:
    a4_at_300 = photo(2480, 3508)
    exact = effective_dpi(a4_at_300, PrintSize(210.0, 297.0))
    assert 299.9 < exact < 300.0
    assert print_fitness(a4_at_300, PrintSize(210.0, 297.0), DEFAULTS) == PrintFitness(
        300, PrintVerdict.GOOD
    )


@pytest.mark.parametrize(
    ("dpi", "verdict"),
    [
        (1000, PrintVerdict.GOOD),
        (300, PrintVerdict.GOOD),
        (299, PrintVerdict.LOW),
        (150, PrintVerdict.LOW),
        (149, PrintVerdict.TOO_LOW),
        (0, PrintVerdict.TOO_LOW),
    ],
)
def test_verdicts_at_the_default_thresholds(dpi: int, verdict: PrintVerdict) -> None:
    assert DEFAULTS.verdict(dpi) is verdict


def test_a_print_too_big_for_the_pixels_is_too_low() -> None:
    # 6000 x 4000 px on a 2 x 1.5 m poster: 4000 px over 59 in -> 68 dpi.
    fitness = print_fitness(LANDSCAPE, PrintSize(2000.0, 1500.0), DEFAULTS)
    assert fitness == PrintFitness(68, PrintVerdict.TOO_LOW)


def test_configured_thresholds_decide() -> None:
    lenient = PrintThresholds(good_dpi=200, low_dpi=60)
    fitness = print_fitness(LANDSCAPE, PrintSize(2000.0, 1500.0), lenient)
    assert fitness.verdict is PrintVerdict.LOW


@pytest.mark.parametrize(("good", "low"), [(300, 300), (150, 300), (300, 0), (300, -1)])
def test_thresholds_need_zero_below_low_below_good(good: int, low: int) -> None:
    with pytest.raises(ValueError, match="0 < low < good"):
        PrintThresholds(good_dpi=good, low_dpi=low)


@pytest.mark.parametrize(
    "size",
    [
        PrintSize(0.0, 100.0),
        PrintSize(100.0, -5.0),
        PrintSize(MAX_PRINT_MM + 0.1, 100.0),
        PrintSize(math.nan, 100.0),
        PrintSize(100.0, math.inf),
    ],
)
def test_a_print_size_out_of_bounds_is_a_validation_error(size: PrintSize) -> None:
    with pytest.raises(FilegateError) as caught:
        check_print_size(size)
    assert caught.value.code is ErrorCode.VALIDATION_ERROR


def test_a_print_size_within_bounds_is_accepted() -> None:
    for size in (PrintSize(0.5, 0.5), PrintSize(MAX_PRINT_MM, MAX_PRINT_MM), PrintSize(88.9, 127)):
        assert check_print_size(size) == size


def test_a_file_has_fitness_only_with_facts_and_a_print_size() -> None:
    size = PrintSize(254.0, 254.0)
    assert fitness_of(make_record(image=LANDSCAPE, print_size=size), DEFAULTS) == PrintFitness(
        400, PrintVerdict.GOOD
    )
    assert fitness_of(make_record(image=LANDSCAPE), DEFAULTS) is None
    assert fitness_of(make_record(print_size=size), DEFAULTS) is None
