"""The parts of the end-to-end benchmark that decide its figures: the corpus, the counting of
transactions and queue calls, and the latency quantiles.

No speed is asserted; the benchmark as a whole runs in ``test_bench_smoke.py``.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psycopg
import pytest
from bench import cpu_split, e2e_shapes
from bench.e2e_client import Pass
from bench.e2e_counts import (
    DB_TRANSACTIONS,
    QUEUE_CALLS,
    Counts,
    Split,
    counts_in,
    per_file,
    pg_transactions,
    scrape,
    scrape_split,
    split_in,
)
from bench.e2e_files import photos
from prometheus_client import CollectorRegistry, Counter, generate_latest

from filegate.adapters.prometheus import PrometheusMetrics
from tests.services import POSTGRES_URL, postgres_reachable, require, scratch_database

pytestmark = pytest.mark.tooling


def _exposition(transactions: dict[str, int], calls: dict[str, int]) -> str:
    """A real Prometheus text page holding the two counters with these labelled values."""
    registry = CollectorRegistry()
    db = Counter(DB_TRANSACTIONS.removesuffix("_total"), "t", ["mode"], registry=registry)
    queue = Counter(QUEUE_CALLS.removesuffix("_total"), "q", ["op"], registry=registry)
    for mode, value in transactions.items():
        db.labels(mode=mode).inc(value)
    for op, value in calls.items():
        queue.labels(op=op).inc(value)
    return generate_latest(registry).decode()


def test_counters_are_summed_over_labels_and_processes() -> None:
    api = _exposition({"read": 5, "write": 7}, {"receive": 2})
    worker = _exposition({"write": 10}, {"receive": 3, "delete": 4})

    assert counts_in([api, worker]) == Counts(db_transactions=22, queue_calls=9)


def test_counters_are_split_by_process_kind_and_label() -> None:
    api = _exposition({"read": 5, "write": 7}, {"depth": 1})
    workers = [_exposition({"write": 10}, {"receive": 3}), _exposition({"write": 2}, {})]

    split = split_in([("api", api), *(("worker", page) for page in workers)])

    assert split.totals == {
        ("api", "db read"): 5,
        ("api", "db write"): 7,
        ("api", "queue depth"): 1,
        ("worker", "db write"): 12,
        ("worker", "queue receive"): 3,
    }


def test_a_split_difference_keeps_series_seen_on_either_side_and_shows_non_zero_ones() -> None:
    later = Split({("api", "db read"): 9, ("worker", "db write"): 4})
    earlier = Split({("api", "db read"): 5, ("worker", "db write"): 4, ("api", "queue x"): 2})

    moved = later.since(earlier)

    assert moved.totals == {
        ("api", "db read"): 4,
        ("worker", "db write"): 0,
        ("api", "queue x"): -2,
    }
    assert moved.per_file(2) == "api: db read 2.00, queue x -1.00"
    assert Split({("api", "db read"): 0}).per_file(2) == "n/a"


def test_counters_a_server_does_not_expose_count_as_missing() -> None:
    page = _exposition({}, {}).replace("filegate_", "other_")

    counted = counts_in([page])

    assert counted == Counts(None, None)
    assert per_file(counted.db_transactions, 10) == "n/a"


async def test_filegates_own_exposition_parses_and_agrees_with_its_text() -> None:
    page = (await PrometheusMetrics().render()).decode()

    counted = counts_in([page])

    assert (counted.db_transactions is None) == (DB_TRANSACTIONS not in page)
    assert (counted.queue_calls is None) == (QUEUE_CALLS not in page)


def test_a_difference_is_missing_when_either_side_is() -> None:
    later, earlier = Counts(30, None), Counts(12, 4)

    assert later.since(earlier) == Counts(18, None)
    assert per_file(18, 4) == "4.50"


@pytest.mark.e2e
def test_the_real_servers_metrics_page_is_read(tmp_path: Path) -> None:
    with e2e_shapes.embedded(tmp_path, batch_size=1) as deployment:
        page = _get(deployment.metrics[0])
        counted = scrape(deployment.metrics)
        split = scrape_split(deployment.processes)

    assert "filegate_registrations_total" in page
    assert (counted.db_transactions is None) == (DB_TRANSACTIONS not in page)
    assert (counted.queue_calls is None) == (QUEUE_CALLS not in page)
    assert {kind for kind, _ in split.totals} <= {"serve"}
    db = sum(value for (_, series), value in split.totals.items() if series.startswith("db "))
    assert counted.db_transactions is None or db == pytest.approx(counted.db_transactions, abs=2)


def _get(url: str) -> str:
    return httpx.get(url, timeout=10).raise_for_status().text


@pytest.mark.postgres
def test_postgres_counts_the_transactions_of_one_database() -> None:
    require("PostgreSQL", *postgres_reachable())
    with scratch_database() as url:
        name = url.rsplit("/", 1)[1]
        before = pg_transactions(POSTGRES_URL, name)
        with psycopg.connect(url, autocommit=True) as conn:
            for _ in range(5):
                conn.execute("SELECT 1")
        after = _reported(name, at_least=before + 5)

    assert 5 <= after - before <= 7  # the connection's own start may add one or two


def _reported(name: str, at_least: int) -> int:
    # A backend that just ended reports its counts as it exits, a moment after the close.
    for _ in range(200):
        count = pg_transactions(POSTGRES_URL, name)
        if count >= at_least:
            return count
        time.sleep(0.05)
    return count


def test_the_corpus_is_the_same_files_every_time_and_each_file_differs(tmp_path: Path) -> None:
    first = photos(4, 64, 48, tmp_path / "made")
    again = photos(4, 64, 48, tmp_path / "made")
    elsewhere = photos(4, 64, 48, tmp_path / "made-again")

    assert [p.sha256 for p in first] == [p.sha256 for p in again]
    assert [p.sha256 for p in first] == [p.sha256 for p in elsewhere]
    assert len({p.sha256 for p in first}) == 4
    for photo in first:
        data = photo.path.read_bytes()
        assert data.startswith(b"\xff\xd8\xff")
        assert (hashlib.sha256(data).hexdigest(), len(data)) == (photo.sha256, photo.size)


def test_latency_quantiles_are_nearest_rank() -> None:
    passed = Pass(files=4, seconds=2.0, latencies=[0.4, 0.1, 0.3, 0.2])

    assert passed.latency_ms(0.5) == pytest.approx(200)
    assert passed.latency_ms(0.99) == pytest.approx(400)
    assert passed.rate == 2.0


_BURN = "import time\nend = time.process_time() + 0.5\nwhile time.process_time() < end: pass"
_PARENT = (
    "import subprocess, sys; "
    f"subprocess.run([sys.executable, '-c', {_BURN!r}], check=True)"
    "  # moto_server"
)


def test_a_processs_cpu_time_counts_for_the_kind_its_parent_names() -> None:
    before = cpu_split.snapshot()
    child = subprocess.Popen([sys.executable, "-c", _PARENT])
    most = 0.0  # the busy grandchild counts for "moto" through its parent, while it lives
    while child.poll() is None:
        most = max(most, cpu_split.snapshot().since(before).seconds.get("moto", 0.0))

    assert child.returncode == 0
    assert most >= 0.3
