"""``register_batch``: N files in one ``POST /v1/files/batch`` vs N single registrations.

Both sides register the same N declarations on the same real server (``filegate serve``,
SQLite): the batch as one httpx request, the singles spread over a pool of concurrent
connections from the bare HTTP/1.1 client (so that the server, not the client, sets their
pace). The ratio is the gain of batching.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench import servers
from bench.harness import Result, interleave_async, per_second
from bench.load import JsonPost, RawPool, UnexpectedAnswer, run_all
from bench.registrations import BATCH_PATH, FILES_PATH, bearer_headers, declaration, new_secret


@dataclass(frozen=True)
class Scale:
    files: int
    connections: int
    repetitions: int


FULL = Scale(files=500, connections=8, repetitions=5)
QUICK = Scale(files=20, connections=2, repetitions=1)


def run(quick: bool) -> list[Result]:
    scale = QUICK if quick else FULL
    secret = new_secret()
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp:
        spec = servers.filegate_serve(Path(tmp) / "data", secret)
        with servers.running(spec, log_dir=Path(tmp)) as (api,):
            return asyncio.run(_measure(api, bearer_headers(secret), scale))


async def _measure(api: str, headers: dict[str, str], scale: Scale) -> list[Result]:
    declarations = [declaration(index) for index in range(scale.files)]
    singles = [JsonPost.of(FILES_PATH, body, headers) for body in declarations]
    async with (
        httpx.AsyncClient(base_url=api, headers=headers, timeout=120) as client,
        RawPool(api, scale.connections) as pool,
    ):

        async def batched() -> float:
            started = time.perf_counter()
            answer = await client.post(BATCH_PATH, json={"files": declarations})
            elapsed = time.perf_counter() - started
            _check_all_registered(answer, scale.files)
            return per_second(scale.files, elapsed)

        async def one_by_one() -> float:
            outcome = await run_all(pool.senders, singles)
            return per_second(outcome.requests, outcome.seconds)

        medians = await interleave_async(batched, one_by_one, scale.repetitions)
    note = (
        f"the same {scale.files} files as single POST /v1/files, "
        f"{scale.connections} concurrent connections from a bare HTTP/1.1 client"
    )
    return [Result("register_batch", "files/s", medians.filegate, medians.baseline, note)]


def _check_all_registered(answer: httpx.Response, expected: int) -> None:
    """A 201 may still carry per-item problems: then the figure would count failures."""
    items = answer.json().get("files", []) if answer.status_code == 201 else []
    registered = sum(1 for item in items if "id" in item)
    if registered != expected:
        raise UnexpectedAnswer(f"batch: {answer.status_code}, {registered}/{expected} registered")
