"""``register``: ``POST /v1/files`` through the real app vs a trivial FastAPI JSON POST.

Both servers run side by side, each in its own process, and take the same load: a pool of
concurrent keep-alive connections in a closed loop for a fixed time per repetition. The
load comes twice: from httpx clients (what a Python user runs), then from a bare HTTP/1.1
client so cheap that the servers set the pace. When httpx gets clearly less out of a
server than the bare client, the httpx row says that the client was the limit.
"""

from __future__ import annotations

import asyncio
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bench import servers
from bench.apps import ECHO_PATH
from bench.harness import Medians, Result, interleave_async
from bench.load import HttpxPool, JsonPost, Pool, RawPool, run_for
from bench.registrations import FILES_PATH, bearer_headers, declaration, new_secret

BASELINE_IS = "trivial FastAPI JSON POST (pydantic body, 201 JSON), same uvicorn setup"
CLIENT_LIMITED_BELOW = 0.8
"""An httpx figure under this share of the bare client's on the same server: client-bound."""


@dataclass(frozen=True)
class Scale:
    connections: int
    seconds: float
    repetitions: int


FULL = Scale(connections=8, seconds=1.0, repetitions=5)
QUICK = Scale(connections=2, seconds=0.1, repetitions=1)


@dataclass(frozen=True)
class _Target:
    """One server under test and the request it is sent."""

    url: str
    request: JsonPost


def run(quick: bool) -> list[Result]:
    scale = QUICK if quick else FULL
    secret = new_secret()
    with tempfile.TemporaryDirectory(prefix="bench-register-") as tmp:
        api_server = servers.filegate_serve(Path(tmp) / "data", secret)
        echo_server = servers.uvicorn_factory("bench.apps:json_app")
        with servers.running(api_server, echo_server, log_dir=Path(tmp)) as (api, echo):
            ours = _Target(api, JsonPost.of(FILES_PATH, declaration(), bearer_headers(secret)))
            theirs = _Target(echo, JsonPost.of(ECHO_PATH, declaration(), bearer_headers(secret)))
            return asyncio.run(_measure(ours, theirs, scale))


async def _measure(ours: _Target, theirs: _Target, scale: Scale) -> list[Result]:
    with_httpx = await _under_load(HttpxPool, ours, theirs, scale)
    with_raw = await _under_load(RawPool, ours, theirs, scale)
    connections = f"{scale.connections} concurrent connections"
    return [
        Result(
            "register",
            "req/s",
            with_httpx.filegate,
            with_httpx.baseline,
            f"{BASELINE_IS}; {connections}, one httpx.AsyncClient each",
            _client_limits(with_httpx, with_raw),
        ),
        Result(
            "register (raw client)",
            "req/s",
            with_raw.filegate,
            with_raw.baseline,
            f"{BASELINE_IS}; {connections} from a bare HTTP/1.1 client",
        ),
    ]


async def _under_load(
    pool_kind: type[HttpxPool | RawPool], ours: _Target, theirs: _Target, scale: Scale
) -> Medians:
    async with (
        pool_kind(ours.url, scale.connections) as our_pool,
        pool_kind(theirs.url, scale.connections) as their_pool,
    ):
        return await interleave_async(
            lambda: _rate(our_pool, ours.request, scale.seconds),
            lambda: _rate(their_pool, theirs.request, scale.seconds),
            scale.repetitions,
        )


async def _rate(pool: Pool, request: JsonPost, seconds: float) -> float:
    return (await run_for(pool.senders, request, seconds)).rate


def _client_limits(with_httpx: Medians, with_raw: Medians) -> str:
    limited = [
        f"{side}: httpx got {httpx_rate:,.0f} req/s, a bare client {raw_rate:,.0f}"
        for side, httpx_rate, raw_rate in (
            ("filegate", with_httpx.filegate, with_raw.filegate),
            ("baseline", with_httpx.baseline, with_raw.baseline),
        )
        if httpx_rate < CLIENT_LIMITED_BELOW * raw_rate
    ]
    return ("limited by the httpx client; " + "; ".join(limited)) if limited else ""
