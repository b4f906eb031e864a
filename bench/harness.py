"""Measuring: interleaved repetitions of a filegate operation and its baseline, and medians.

Each repetition of filegate is paired with the baseline repetition run right after it; the
ratio reported is the median of those paired ratios. A pair shares the machine's state of
that moment (other jobs, CPU frequency, page cache), so its ratio cancels most of the noise
that moves both sides together, which a ratio of the two medians would not.
"""

from __future__ import annotations

import statistics
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Medians:
    """The median figure of each side over its repetitions, and the median paired ratio."""

    filegate: float
    baseline: float
    ratio: float

    @classmethod
    def of_pairs(cls, ours: Sequence[float], theirs: Sequence[float]) -> Medians:
        """From the figures of each repetition, ``ours[i]`` paired with ``theirs[i]``."""
        if not ours or len(ours) != len(theirs):
            raise ValueError("one baseline figure is needed for each filegate figure")
        ratios = [mine / max(other, 1e-12) for mine, other in zip(ours, theirs, strict=True)]
        return cls(statistics.median(ours), statistics.median(theirs), statistics.median(ratios))


@dataclass(frozen=True)
class Result:
    """One row of the report: filegate's figure and its baseline's, in the same ``unit``.

    ``baseline_is`` says in one line what the baseline does; ``remark`` flags a caveat of
    this run (e.g. a figure limited by the load generator rather than the server).
    ``paired_ratio`` is the median of the paired ratios when the row comes from
    :func:`interleave`; without it the ratio is that of the two figures.
    """

    name: str
    unit: str
    filegate: float
    baseline: float
    baseline_is: str
    remark: str = ""
    paired_ratio: float | None = None

    @classmethod
    def of(
        cls, name: str, unit: str, medians: Medians, baseline_is: str, remark: str = ""
    ) -> Result:
        """The row for interleaved measurements: both medians and the median paired ratio."""
        return cls(
            name, unit, medians.filegate, medians.baseline, baseline_is, remark, medians.ratio
        )

    @property
    def ratio(self) -> float:
        """filegate ÷ baseline: for rates above 1 is faster, for durations below 1 is."""
        if self.paired_ratio is not None:
            return self.paired_ratio
        return self.filegate / self.baseline


def interleave(
    filegate: Callable[[], float], baseline: Callable[[], float], repetitions: int
) -> Medians:
    """An unmeasured warm-up of each side, then ``A B A B ...``; medians and paired ratio.

    Each call performs one repetition and returns its figure.
    """
    filegate()
    baseline()
    ours: list[float] = []
    theirs: list[float] = []
    for _ in range(repetitions):
        ours.append(filegate())
        theirs.append(baseline())
    return Medians.of_pairs(ours, theirs)


async def interleave_async(
    filegate: Callable[[], Awaitable[float]],
    baseline: Callable[[], Awaitable[float]],
    repetitions: int,
) -> Medians:
    """:func:`interleave` for coroutines."""
    await filegate()
    await baseline()
    ours: list[float] = []
    theirs: list[float] = []
    for _ in range(repetitions):
        ours.append(await filegate())
        theirs.append(await baseline())
    return Medians.of_pairs(ours, theirs)


def per_second(count: float, seconds: float) -> float:
    """A rate; ``seconds`` is floored at 1 ns so that a tiny quick run stays finite."""
    return count / max(seconds, 1e-9)
