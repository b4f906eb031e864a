"""``e2e``: photos registered, uploaded and verified end to end by the real server processes,
against the decode-bound limit of the same files on the same cores.

Per shape (:mod:`bench.e2e_shapes`: embedded, and distributed when PostgreSQL answers),
each pass on a fresh deployment:

* throughput: concurrent clients send every file (:func:`bench.e2e_client.saturate`) with
  the default receive batch of 10; files/s from the first registration to the last READY;
* batch 10 vs batch 1: the same, on a smaller set, once per ``FILEGATE_BATCH_SIZE``, with
  the database transactions and queue calls per file each pass cost, split by process
  kind and label (:mod:`bench.e2e_counts`);
* latency: files sent at half the measured throughput (:func:`bench.e2e_client.paced`);
  p50 and p99 of upload end → READY.

Then the embedded throughput and batch passes once more with ``FILEGATE_RENDITIONS=false``.
Each throughput pass also reports how the machine's CPU time was shared among the kinds of
process (:mod:`bench.cpu_split`).

Baselines (:mod:`bench.e2e_limit`, the same files in two processes, measured just before
each shape): the throughput pass is compared twice, with the decode-only limit (SHA-256 and
filegate's own verifying decode) and with the whole-inspection limit (decode, facts,
placeholder, hash and both renditions), so that each ratio says what it means. The
renditions-off pass is compared with the decode-only limit of renditions off (the smaller
shrink-on-load decode the worker then runs). For latency, one file's SHA-256 and decode on
one core.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from bench import cpu_split, e2e_shapes
from bench.e2e_client import Pass, paced, saturate, tokens
from bench.e2e_counts import Counts, Split, per_file, scrape, scrape_split
from bench.e2e_files import Photo, photos
from bench.e2e_limit import PROCESSES, decode_rate, inspection_rate
from bench.e2e_shapes import Deployment
from bench.harness import Result

Start = Callable[[Path, int], AbstractContextManager[Deployment]]
"""Starts a shape in a folder with a receive batch size (:mod:`bench.e2e_shapes`)."""

DEFAULT_BATCH = 10
PACED_USERS = 20
"""Users of the latency pass, taking turns (each holds one event stream)."""
_PACE_SHARE = 0.5
"""The latency pass sends at this share of the throughput pass's files/s."""


@dataclass(frozen=True)
class Scale:
    width: int
    height: int
    files: int
    """Files of the embedded throughput pass."""
    distributed_files: int
    """Files of the distributed throughput pass (0: no distributed shape)."""
    batch_files: int
    """Files of each embedded batch-size pass (the throughput pass's, if equal)."""
    latency_files: int
    clients: int
    inspection_files: int
    plain_files: int
    """Files of the embedded pass with ``FILEGATE_RENDITIONS=false`` (0: no such pass)."""


FULL = Scale(
    width=2000,
    height=1500,
    files=1000,
    distributed_files=200,
    batch_files=200,
    latency_files=30,
    clients=8,
    inspection_files=40,
    plain_files=1000,
)
QUICK = Scale(
    width=640,
    height=480,
    files=20,
    distributed_files=0,
    batch_files=20,
    latency_files=5,
    clients=4,
    inspection_files=10,
    plain_files=20,
)


@dataclass(frozen=True)
class _Shape:
    name: str
    start: Start
    files: int
    batch_files: int


@dataclass(frozen=True)
class _Costs:
    """What one throughput pass cost the backends, per the servers and per PostgreSQL."""

    counted: Counts
    split: Split
    """The same counters by process kind and label."""
    pg_transactions: int | None
    cpu: cpu_split.CpuSplit
    """The machine's CPU time during the pass, by kind of process."""


@dataclass(frozen=True)
class _Throughput:
    passed: Pass
    costs: _Costs


@dataclass(frozen=True)
class _Limits:
    decode: float
    inspection: float


def run(quick: bool) -> list[Result]:
    scale = QUICK if quick else FULL
    largest = max(scale.files, scale.distributed_files, scale.plain_files)
    corpus = photos(largest + scale.latency_files, scale.width, scale.height)
    rows: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="bench-e2e-") as tmp:
        for shape in _shapes(scale):
            rows += _measure(shape, corpus, scale, Path(tmp) / shape.name)
        if scale.plain_files:
            rows += _plain(corpus[: scale.plain_files], scale, Path(tmp) / "plain")
    return rows


def _plain(files: Sequence[Photo], scale: Scale, tmp: Path) -> list[Result]:
    """The embedded throughput pass with renditions off, against the decode the worker then
    runs (shrunk on load to the perceptual hash's edge); then batch 10 against batch 1
    without renditions, where the per-file costs that batching shares weigh more."""
    limit = decode_rate([photo.path for photo in files], renditions=False)
    start = partial(e2e_shapes.embedded, renditions=False)
    shape = _Shape("embedded, renditions off", start, len(files), scale.batch_files)
    measured = _throughput(shape, tmp / "main", DEFAULT_BATCH, files, scale.clients)
    passed = measured.passed
    few = files[: scale.batch_files]
    batched = _throughput(shape, tmp / "batch10", DEFAULT_BATCH, few, scale.clients)
    single = _throughput(shape, tmp / "batch1", 1, few, scale.clients)
    return [
        Result(
            f"e2e embedded, renditions off, {passed.files:,} JPEGs {scale.width}x{scale.height}",
            "files/s",
            passed.rate,
            limit,
            f"decode-only limit with renditions off: SHA-256 + the verifying decode the worker "
            f"then runs (libvips shrink-on-load for the perceptual hash's 256 px edge) in "
            f"{PROCESSES} processes; filegate: FILEGATE_RENDITIONS=false, batch "
            f"{DEFAULT_BATCH}, {scale.clients} clients, {passed.seconds:.1f} s; CPU: "
            f"{measured.costs.cpu.describe()}",
        ),
        *_batch_rows(shape, batched, single),
    ]


def _shapes(scale: Scale) -> list[_Shape]:
    shapes = [_Shape("embedded", e2e_shapes.embedded, scale.files, scale.batch_files)]
    if scale.distributed_files and e2e_shapes.postgres_reachable():
        files = scale.distributed_files
        shapes.append(_Shape("distributed", e2e_shapes.distributed, files, files))
    return shapes


def _measure(shape: _Shape, corpus: Sequence[Photo], scale: Scale, tmp: Path) -> list[Result]:
    files = corpus[: shape.files]
    limits = _Limits(
        decode_rate([photo.path for photo in files]),
        inspection_rate([photo.path for photo in files[: scale.inspection_files]]),
    )
    main = _throughput(shape, tmp / "main", DEFAULT_BATCH, files, scale.clients)
    batched = main
    if shape.batch_files != shape.files:
        batched = _throughput(
            shape, tmp / "batch10", DEFAULT_BATCH, corpus[: shape.batch_files], scale.clients
        )
    single = _throughput(shape, tmp / "batch1", 1, corpus[: shape.batch_files], scale.clients)
    later = corpus[shape.files : shape.files + scale.latency_files]
    pace = _PACE_SHARE * main.passed.rate
    latency = _latency(shape, tmp / "latency", later, pace)
    return [
        *_throughput_rows(shape, scale, main, limits),
        *_latency_rows(shape, latency, pace, limits),
        *_batch_rows(shape, batched, single),
    ]


def _throughput(
    shape: _Shape, folder: Path, batch_size: int, files: Sequence[Photo], clients: int
) -> _Throughput:
    with shape.start(folder, batch_size) as deployment:
        user_tokens = tokens(deployment.secret, clients, "bench")
        before = scrape(deployment.metrics), scrape_split(deployment.processes)
        cpu_before = cpu_split.snapshot()
        passed = asyncio.run(saturate(deployment.api, user_tokens, files))
        cpu = cpu_split.snapshot().since(cpu_before)
        counted = scrape(deployment.metrics).since(before[0])
        split = scrape_split(deployment.processes).since(before[1])
    pg = deployment.pg.during if deployment.pg is not None else None
    return _Throughput(passed, _Costs(counted, split, pg, cpu))


def _latency(shape: _Shape, folder: Path, files: Sequence[Photo], rate: float) -> Pass:
    with shape.start(folder, DEFAULT_BATCH) as deployment:
        user_tokens = tokens(deployment.secret, PACED_USERS, "paced")
        return asyncio.run(paced(deployment.api, user_tokens, files, rate))


def _throughput_rows(
    shape: _Shape, scale: Scale, measured: _Throughput, limits: _Limits
) -> list[Result]:
    passed = measured.passed
    name = f"e2e {shape.name}, {passed.files:,} JPEGs {scale.width}x{scale.height}"
    how = (
        f"filegate: renditions on (the default), batch {DEFAULT_BATCH}, {scale.clients} "
        f"clients (a user each), {passed.seconds:.1f} s from the first registration to "
        f"the last READY; CPU during the pass: {measured.costs.cpu.describe()}"
    )
    return [
        Result(
            f"{name}, vs decode-only",
            "files/s",
            passed.rate,
            limits.decode,
            f"decode-only limit: SHA-256 + filegate's verifying decode (libvips "
            f"shrink-on-load for the 1600 px preview edge) of the same files in "
            f"{PROCESSES} processes; {how}",
        ),
        Result(
            f"{name}, vs whole inspection",
            "files/s",
            passed.rate,
            limits.inspection,
            f"whole-inspection limit: SHA-256 + decode, facts, placeholder, perceptual hash "
            f"and both renditions (filegate's inspect_path) in the same {PROCESSES}-process "
            f"pool, on the first {scale.inspection_files} files; {how}",
        ),
    ]


def _latency_rows(shape: _Shape, latency: Pass, pace: float, limits: _Limits) -> list[Result]:
    one_file_ms = 1000 * PROCESSES / limits.decode
    how = (
        f"one file's SHA-256 + verifying decode on one core (from the limit); filegate: "
        f"{latency.files} files sent at {pace:.1f} files/s (half the throughput), "
        f"client-side, until the file.ready event arrives on the user's event stream "
        f"({PACED_USERS} users taking turns, each following GET /v1/events)"
    )
    return [
        Result(
            f"e2e {shape.name}, upload end → READY, {label}",
            "ms",
            latency.latency_ms(quantile),
            one_file_ms,
            how,
        )
        for label, quantile in (("p50", 0.5), ("p99", 0.99))
    ]


def _batch_rows(shape: _Shape, batched: _Throughput, single: _Throughput) -> list[Result]:
    files = batched.passed.files
    rows = [
        Result(
            f"e2e {shape.name}, batch {DEFAULT_BATCH} vs 1",
            "files/s",
            batched.passed.rate,
            single.passed.rate,
            f"the same {files:,} files with FILEGATE_BATCH_SIZE=1; "
            f"per file at batch {DEFAULT_BATCH} / 1: {_per_file_costs(batched, single)}",
        )
    ]
    rows += [
        _counter_row(shape, batched, single, "db transactions", lambda c: c.db_transactions),
        _counter_row(shape, batched, single, "queue calls", lambda c: c.queue_calls),
    ]
    if batched.costs.pg_transactions is not None and single.costs.pg_transactions is not None:
        rows.append(
            Result(
                f"e2e {shape.name}, PostgreSQL transactions, batch {DEFAULT_BATCH} vs 1",
                "xact/file",
                batched.costs.pg_transactions / files,
                single.costs.pg_transactions / single.passed.files,
                "pg_stat_database xact_commit + xact_rollback of the pass's own database, "
                "from provisioning to every process stopped (start-up and stop included)",
            )
        )
    return rows


def _counter_row(
    shape: _Shape,
    batched: _Throughput,
    single: _Throughput,
    what: str,
    pick: Callable[[Counts], float | None],
) -> Result:
    """Per file, a counter at batch 10 against batch 1, with both split by process kind."""
    counts = [pick(run.costs.counted) for run in (batched, single)]
    files = [run.passed.files for run in (batched, single)]
    prefix = what.split()[0]
    splits = [
        _only(run.costs.split, prefix).per_file(run.passed.files) for run in (batched, single)
    ]
    return Result(
        f"e2e {shape.name}, {what} (counter), batch {DEFAULT_BATCH} vs 1",
        f"{what.split()[-1]}/file",
        (counts[0] or 0.0) / files[0],
        (counts[1] or 0.0) / files[1],
        f"filegate's own counters summed over every process's /metrics, during the pass; "
        f"batch {DEFAULT_BATCH}: {splits[0]}; batch 1: {splits[1]}",
    )


def _only(split: Split, prefix: str) -> Split:
    return Split({key: value for key, value in split.totals.items() if key[1].startswith(prefix)})


def _per_file_costs(batched: _Throughput, single: _Throughput) -> str:
    def both(pick: Callable[[_Throughput], float | None]) -> str:
        return " / ".join(per_file(pick(run), run.passed.files) for run in (batched, single))

    parts = [
        f"db transactions (counter) {both(lambda run: run.costs.counted.db_transactions)}",
        f"queue calls (counter) {both(lambda run: run.costs.counted.queue_calls)}",
        f"client requests {both(lambda run: run.passed.requests)}",
    ]
    return "; ".join(parts)
