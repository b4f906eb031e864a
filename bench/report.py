"""The report: one table row per result, figures with their units, and the ratio."""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table

from bench.harness import Result

CAPTION = (
    "filegate, baseline: medians of interleaved repetitions; ratio = filegate ÷ baseline, "
    "the median of the ratios of paired repetitions (each filegate run with the baseline "
    "run next to it); for rates (/s) above 1 is faster, for times (ms) below 1 is faster"
)


def table(results: Sequence[Result], title: str) -> Table:
    grid = Table(title=title, caption=CAPTION, title_justify="left", caption_justify="left")
    grid.add_column("benchmark", no_wrap=True)
    grid.add_column("filegate", justify="right", no_wrap=True)
    grid.add_column("baseline", justify="right", no_wrap=True)
    grid.add_column("ratio", justify="right", no_wrap=True)
    grid.add_column("baseline is")
    for result in results:
        note = result.baseline_is
        if result.remark:
            note += f"\n[yellow]⚠ {result.remark}[/yellow]"
        grid.add_row(
            result.name,
            figure(result.filegate, result.unit),
            figure(result.baseline, result.unit),
            ratio(result.ratio),
            note,
        )
    return grid


def figure(value: float, unit: str) -> str:
    """Three significant digits or more, thousands separated: ``1,234 req/s``, ``47.2 ms``."""
    if value >= 100:
        return f"{value:,.0f} {unit}"
    if value >= 10:
        return f"{value:.1f} {unit}"
    return f"{value:.2f} {unit}"


def ratio(value: float) -> str:
    if value >= 10:
        return f"{value:.0f}x"
    if value >= 1:
        return f"{value:.2f}x"
    return f"{value:.2g}x"
