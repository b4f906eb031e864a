"""``register_batch``: N files per ``POST /v1/files/batch`` vs a bare ``executemany`` endpoint.

For each database kind (SQLite, and PostgreSQL when reachable) the real ``filegate serve``
and the bare app of :mod:`bench.bare_apps` run side by side on databases of their own. A
repetition sends a few batches of N declarations back to back over one keep-alive
connection from the bare HTTP/1.1 client; the bare endpoint inserts each batch with one
``executemany`` in one transaction. Every filegate answer is checked to register all N.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench import bare_apps, databases, servers
from bench.harness import Medians, Result, interleave_async, per_second
from bench.load import JsonPost, RawPool, Sender, UnexpectedAnswer
from bench.registrations import BATCH_PATH, bearer_headers, declaration, new_secret


@dataclass(frozen=True)
class Scale:
    files: int
    batches_per_repetition: int
    repetitions: int


FULL = Scale(files=500, batches_per_repetition=1, repetitions=5)
QUICK = Scale(files=20, batches_per_repetition=1, repetitions=1)


def run(quick: bool) -> list[Result]:
    scale = QUICK if quick else FULL
    return [_run_on(kind, scale) for kind in databases.kinds()]


def _run_on(kind: str, scale: Scale) -> Result:
    secret = new_secret()
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp:
        folder = Path(tmp)
        with (
            databases.scratch(kind, folder, "batch_filegate") as ours,
            databases.scratch(kind, folder, "batch_bare") as theirs,
        ):
            api = servers.filegate_serve(folder / "data", secret, ours)
            bare = bare_apps.server(kind, theirs)
            with servers.running(api, bare, log_dir=folder) as (api_url, bare_url):
                medians = asyncio.run(_measure(api_url, bare_url, secret, scale))
    note = f"{bare_apps.DESCRIPTION[kind]}: one executemany per request, one transaction"
    return Result.of(f"register_batch {kind} {scale.files}/request", "files/s", medians, note)


async def _measure(api: str, bare: str, secret: str, scale: Scale) -> Medians:
    headers = bearer_headers(secret)
    body = {"files": [declaration(index) for index in range(scale.files)]}
    ours = JsonPost.of(BATCH_PATH, body, headers)
    theirs = JsonPost.of(bare_apps.BATCH_PATH, body, headers)
    async with RawPool(api, 1) as our_pool, RawPool(bare, 1) as their_pool:
        return await interleave_async(
            lambda: _rate(our_pool.senders[0], ours, scale),
            lambda: _rate(their_pool.senders[0], theirs, scale),
            scale.repetitions,
        )


async def _rate(send: Sender, request: JsonPost, scale: Scale) -> float:
    answers: list[bytes] = []
    started = time.perf_counter()
    for _ in range(scale.batches_per_repetition):
        answers.append(await send(request))
    elapsed = time.perf_counter() - started
    for answer in answers:
        _check_all_registered(answer, scale.files)
    return per_second(scale.files * scale.batches_per_repetition, elapsed)


def _check_all_registered(answer: bytes, expected: int) -> None:
    """A 201 may still carry per-item problems: then the figure would count failures."""
    registered = sum(1 for item in json.loads(answer).get("files", []) if "id" in item)
    if registered != expected:
        raise UnexpectedAnswer(f"batch: {registered}/{expected} registered")
