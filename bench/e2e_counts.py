"""What a run cost the backends: database transactions and queue calls, counted twice over.

From the servers (any shape): the counters ``filegate_db_transactions_total`` and
``filegate_queue_calls_total`` summed over every process's ``GET /metrics`` (the API's
port, and each worker's ``--metrics-port``). A server that does not count these yet
exposes no such series: the count is then ``None`` and the report says "n/a".

From PostgreSQL itself (the distributed shape): ``xact_commit + xact_rollback`` of the
run's own scratch database in ``pg_stat_database``, which no filegate code can get wrong.
A backend reports its counts when it ends, or (while it lives) at most about every second,
and an idle one only after :data:`PG_STATS_IDLE_FLUSH_SECONDS`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import httpx
import psycopg
from prometheus_client.parser import text_string_to_metric_families

DB_TRANSACTIONS = "filegate_db_transactions_total"
QUEUE_CALLS = "filegate_queue_calls_total"
PG_STATS_IDLE_FLUSH_SECONDS = 11.0
"""PostgreSQL's idle statistics flush (``PGSTAT_IDLE_INTERVAL``, 10 s) plus a margin."""


@dataclass(frozen=True)
class Counts:
    """Counter totals at one moment; ``None``: no process exposes that counter."""

    db_transactions: float | None
    queue_calls: float | None

    def since(self, earlier: Counts) -> Counts:
        """What was counted between ``earlier`` and this moment."""
        return Counts(
            _difference(self.db_transactions, earlier.db_transactions),
            _difference(self.queue_calls, earlier.queue_calls),
        )


def _difference(later: float | None, earlier: float | None) -> float | None:
    return None if later is None or earlier is None else later - earlier


def scrape(metrics_urls: Sequence[str]) -> Counts:
    """The counters summed over the ``/metrics`` pages at ``metrics_urls``."""
    pages = [httpx.get(url, timeout=10).raise_for_status().text for url in metrics_urls]
    return counts_in(pages)


def counts_in(pages: Iterable[str]) -> Counts:
    """The counters summed over Prometheus text expositions (every label combined)."""
    totals: dict[str, float] = {}
    for page in pages:
        for family in text_string_to_metric_families(page):
            for sample in family.samples:
                if sample.name in (DB_TRANSACTIONS, QUEUE_CALLS):
                    totals[sample.name] = totals.get(sample.name, 0.0) + sample.value
    return Counts(totals.get(DB_TRANSACTIONS), totals.get(QUEUE_CALLS))


def pg_transactions(admin_url: str, database: str) -> int:
    """Transactions committed and rolled back in ``database`` so far, as PostgreSQL counts
    them (read over a connection to another database, so that reading adds none)."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = %s",
            (database,),
        ).fetchone()
    if row is None:
        raise RuntimeError(f"pg_stat_database has no row for {database!r}")
    return int(row[0])


def per_file(count: float | None, files: int) -> str:
    """``count`` per file, for the report: ``6.3``, or ``n/a`` when not counted."""
    return "n/a" if count is None else f"{count / files:.2f}"


@dataclass(frozen=True)
class Split:
    """Counter totals by process kind and series, e.g. ``("worker", "db write")``: each
    label of ``filegate_db_transactions_total{mode}`` and ``filegate_queue_calls_total{op}``
    of every process of that kind, summed."""

    totals: dict[tuple[str, str], float]

    def since(self, earlier: Split) -> Split:
        """What was counted between ``earlier`` and this moment (series seen in either)."""
        keys = self.totals.keys() | earlier.totals.keys()
        return Split(
            {key: self.totals.get(key, 0.0) - earlier.totals.get(key, 0.0) for key in keys}
        )

    def per_file(self, files: int) -> str:
        """``api: db read 1.00, db write 2.00; worker: ...``; non-zero series, by kind;
        ``n/a`` when no process counts any."""
        kinds: dict[str, list[str]] = {}
        for (kind, series), value in sorted(self.totals.items()):
            if value:
                kinds.setdefault(kind, []).append(f"{series} {value / files:.2f}")
        if not kinds:
            return "n/a"
        return "; ".join(f"{kind}: {', '.join(parts)}" for kind, parts in kinds.items())


_SERIES = {DB_TRANSACTIONS: ("db", "mode"), QUEUE_CALLS: ("queue", "op")}


def split_in(pages: Iterable[tuple[str, str]]) -> Split:
    """The counters of ``(process kind, exposition text)`` pages, by kind and label."""
    totals: dict[tuple[str, str], float] = {}
    for kind, page in pages:
        for family in text_string_to_metric_families(page):
            for sample in family.samples:
                if sample.name in _SERIES:
                    prefix, label = _SERIES[sample.name]
                    key = (kind, f"{prefix} {sample.labels.get(label, '?')}")
                    totals[key] = totals.get(key, 0.0) + sample.value
    return Split(totals)


def scrape_split(processes: Sequence[tuple[str, str]]) -> Split:
    """:func:`split_in` of the ``/metrics`` pages of ``(process kind, URL)``."""
    return split_in(
        (kind, httpx.get(url, timeout=10).raise_for_status().text) for kind, url in processes
    )
