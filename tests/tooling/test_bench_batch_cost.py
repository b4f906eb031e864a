"""The Lambda cost arithmetic of ``bench batch_cost`` and its measuring loop on real parts
(the worker runtime on SQLite and the local store, the real decode pool).

No speed is asserted.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from bench import batch_cost
from bench.e2e_files import photos

pytestmark = pytest.mark.tooling

_GB = batch_cost.MEMORY_MB / 1024


def test_a_million_single_file_invocations_of_one_second_cost_requests_plus_gb_seconds() -> None:
    expected = 1_000_000 * (0.20 / 1_000_000 + 1.0 * _GB * 0.0000166667)

    assert batch_cost.lambda_usd(1000.0, 1) == pytest.approx(expected)


def test_duration_is_billed_in_whole_milliseconds_and_batches_divide_the_invocations() -> None:
    assert batch_cost.lambda_usd(999.2, 1) == batch_cost.lambda_usd(1000.0, 1)
    assert batch_cost.lambda_usd(1000.0, 10) == pytest.approx(batch_cost.lambda_usd(1000.0, 1) / 10)


def test_the_rows_are_paired_medians_per_invocation_per_file_and_per_million() -> None:
    rows = batch_cost.rows([1000.0, 2000.0, 3000.0], [100.0, 400.0, 100.0], "64x48")

    invocation, per_file, cost = rows
    assert (invocation.filegate, invocation.baseline, invocation.ratio) == (2000.0, 100.0, 10.0)
    assert (per_file.filegate, per_file.baseline) == (200.0, 100.0)
    assert per_file.ratio == pytest.approx(1.0)  # pairs 1.0, 0.5, 3.0
    assert cost.filegate == pytest.approx(batch_cost.lambda_usd(2000.0, 10))
    assert cost.baseline == pytest.approx(batch_cost.lambda_usd(100.0, 1))


def test_each_invocation_verifies_its_own_files_and_is_timed(tmp_path: Path) -> None:
    corpus = photos(2 * (batch_cost.BATCH + 1), 64, 48, tmp_path / "corpus")

    batched, single = asyncio.run(batch_cost.measure(tmp_path / "run", corpus, repetitions=1))

    assert len(batched) == len(single) == 1  # the first pair is the unmeasured warm-up
    assert batched[0] > 0 and single[0] > 0
