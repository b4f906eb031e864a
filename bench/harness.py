"""Measuring: interleaved repetitions of a filegate operation and its baseline, and medians."""

from __future__ import annotations

import statistics
from collections.abc import Awaitable, Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Result:
    """One row of the report: filegate's figure and its baseline's, in the same ``unit``.

    ``baseline_is`` says in one line what the baseline does; ``remark`` flags a caveat of
    this run (e.g. a figure limited by the load generator rather than the server).
    """

    name: str
    unit: str
    filegate: float
    baseline: float
    baseline_is: str
    remark: str = ""

    @property
    def ratio(self) -> float:
        """filegate ÷ baseline: for rates above 1 is faster, for durations below 1 is."""
        return self.filegate / self.baseline


@dataclass(frozen=True)
class Medians:
    """The median figure of each side over its repetitions."""

    filegate: float
    baseline: float


def interleave(
    filegate: Callable[[], float], baseline: Callable[[], float], repetitions: int
) -> Medians:
    """An unmeasured warm-up of each side, then ``A B A B ...``; the medians.

    Each call performs one repetition and returns its figure. Alternating spreads the
    noise of a shared machine (other jobs, CPU frequency, page cache) over both sides.
    """
    filegate()
    baseline()
    ours: list[float] = []
    theirs: list[float] = []
    for _ in range(repetitions):
        ours.append(filegate())
        theirs.append(baseline())
    return Medians(statistics.median(ours), statistics.median(theirs))


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
    return Medians(statistics.median(ours), statistics.median(theirs))


def per_second(count: float, seconds: float) -> float:
    """A rate; ``seconds`` is floored at 1 ns so that a tiny quick run stays finite."""
    return count / max(seconds, 1e-9)
