"""The benchmark suite does not rot: each benchmark, at smoke sizes, yields usable figures.

Speed is never asserted (the figures of a quick run mean nothing): only that every
benchmark runs end to end and reports finite, positive numbers for both sides, that the
ratio is the median of paired ratios, and that the bare baselines really do their work.
"""

from __future__ import annotations

import math
import os
import sqlite3
from pathlib import Path

import httpx
import psycopg
import pytest
from bench import bare_apps, servers, store_apps
from bench.__main__ import main
from bench.harness import Medians, Result
from bench.registrations import bearer_headers, declaration, new_secret
from bench.suite import BENCHMARKS
from sqlalchemy.engine import make_url

pytestmark = [pytest.mark.tooling, pytest.mark.e2e]  # starts servers (filegate serve, uvicorn)


@pytest.mark.parametrize("name", list(BENCHMARKS))
def test_quick_run_reports_finite_positive_figures(name: str) -> None:
    results = BENCHMARKS[name](True)

    assert results
    for result in results:
        figures = (result.filegate, result.baseline, result.ratio)
        assert all(math.isfinite(f) and f > 0 for f in figures), result
        assert result.name and result.unit and result.baseline_is
    assert len({result.name for result in results}) == len(results)


def test_the_ratio_is_the_median_of_paired_ratios_not_the_ratio_of_medians() -> None:
    medians = Medians.of_pairs([10.0, 20.0, 30.0], [10.0, 40.0, 10.0])  # pairs: 1, 0.5, 3

    result = Result.of("x", "req/s", medians, "y")

    assert (result.filegate, result.baseline) == (20.0, 10.0)
    assert result.ratio == 1.0


def test_pairs_must_match() -> None:
    with pytest.raises(ValueError, match="one baseline figure"):
        Medians.of_pairs([1.0, 2.0], [1.0])


@pytest.mark.parametrize(
    ("factory", "database"),
    [
        ("bench.bare_apps:sqlite_app", "sqlite_url"),
        pytest.param("bench.bare_apps:postgres_app", "postgres_url", marks=pytest.mark.postgres),
    ],
)
def test_the_bare_endpoints_insert_one_row_per_declared_file(
    factory: str, database: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url: str = request.getfixturevalue(database)
    headers = bearer_headers(new_secret())
    spec = servers.uvicorn_factory(factory, {bare_apps.DATABASE_ENV: url})

    with servers.running(spec, log_dir=tmp_path) as (base,):
        single = httpx.post(base + bare_apps.FILES_PATH, json=declaration(1), headers=headers)
        batch = {"files": [declaration(index) for index in range(2, 7)]}
        many = httpx.post(base + bare_apps.BATCH_PATH, json=batch, headers=headers)

    assert (single.status_code, many.status_code) == (201, 201)
    assert len(many.json()["files"]) == 5
    assert _filenames(url) == [f"IMG_{index:04d}.jpg" for index in range(1, 7)]


def test_the_durable_bare_put_stores_each_body_whole_under_its_name(tmp_path: Path) -> None:
    folder = tmp_path / "objects"
    spec = servers.uvicorn_factory(
        "bench.store_apps:durable_put_app", {store_apps.STORE_ROOT_ENV: str(folder)}
    )
    bodies = {"a": os.urandom(300_000), "b": b"x"}

    with servers.running(spec, log_dir=tmp_path) as (base,):
        answers = [
            httpx.put(base + store_apps.DURABLE_PUT_PATH.format(name=name), content=body)
            for name, body in bodies.items()
        ]

    assert [answer.status_code for answer in answers] == [201, 201]
    assert {path.name: path.read_bytes() for path in folder.iterdir()} == bodies


def _filenames(url: str) -> list[str]:
    query = "SELECT filename FROM files WHERE state = 'REGISTERED' ORDER BY filename"
    if url.startswith("sqlite"):
        with sqlite3.connect(make_url(url).database or "") as connection:
            return [row[0] for row in connection.execute(query)]
    with psycopg.connect(url) as connection:
        return [row[0] for row in connection.execute(query)]


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
