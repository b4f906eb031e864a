"""``python -m bench [--quick] [NAME ...]``: run benchmarks and print their ratios."""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections.abc import Sequence
from datetime import UTC, datetime

from rich.console import Console

from bench.harness import Result
from bench.report import table
from bench.suite import BENCHMARKS

_REPORT_WIDTH = 160
"""Columns when the output is not a terminal (a file, a pipe, make's log)."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - set(BENCHMARKS))
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}")
    console = Console()
    if not console.is_terminal:
        console.width = _REPORT_WIDTH
    names = args.names or list(BENCHMARKS)
    started = time.perf_counter()
    results: list[Result] = []
    for name in names:
        with console.status(f"{name}…"):
            begun = time.perf_counter()
            results += BENCHMARKS[name](args.quick)
        console.print(f"[dim]{name}: {time.perf_counter() - begun:.1f} s[/dim]")
    console.print(table(results, _title(args.quick, time.perf_counter() - started)))
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="filegate benchmarks: each against a baseline measured in the same run.",
    )
    parser.add_argument(
        "names",
        nargs="*",
        metavar="NAME",
        help=f"benchmarks to run (default: all): {', '.join(BENCHMARKS)}",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="tiny sizes and one repetition: checks the suite runs; the figures mean nothing",
    )
    return parser


def _title(quick: bool, seconds: float) -> str:
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    machine = f"{os.cpu_count()} CPUs, Python {platform.python_version()}"
    mode = ", QUICK (smoke sizes)" if quick else ""
    return f"filegate benchmarks: {when}, {machine}, {seconds:.0f} s{mode}"


if __name__ == "__main__":
    raise SystemExit(main())
