"""The benchmark suite does not rot: each benchmark, at smoke sizes, yields usable figures.

Speed is never asserted (the figures of a quick run mean nothing): only that every
benchmark runs end to end and reports finite, positive numbers for both sides.
"""

from __future__ import annotations

import math

import pytest
from bench.__main__ import main
from bench.suite import BENCHMARKS

pytestmark = [pytest.mark.tooling, pytest.mark.e2e]  # starts servers (filegate serve, uvicorn)


@pytest.mark.parametrize("name", list(BENCHMARKS))
def test_quick_run_reports_finite_positive_figures(name: str) -> None:
    results = BENCHMARKS[name](True)

    assert results
    for result in results:
        figures = (result.filegate, result.baseline, result.ratio)
        assert all(math.isfinite(f) and f > 0 for f in figures), result
        assert result.name and result.unit and result.baseline_is


def test_command_line_prints_a_table_for_the_chosen_benchmarks(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["--quick", "presign"]) == 0

    out = capsys.readouterr().out
    assert "presign" in out
    assert "URLs/s" in out
    assert "store_put" not in out


def test_command_line_refuses_an_unknown_benchmark(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["--quick", "no_such_benchmark"])

    assert stopped.value.code == 2
    assert "no_such_benchmark" in capsys.readouterr().err
