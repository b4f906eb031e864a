"""The client side of the end-to-end benchmark: register, upload to the presigned URL, and
wait until the file is READY, over real HTTP with httpx.

Two ways to send a set of files. :func:`saturate`: concurrent clients register and upload
back to back as fast as the service lets them, so verification falls behind and the
workers are never idle; the pass lasts from the first registration to the last READY.
:func:`paced`: files start at a fixed rate below capacity, as independent users would
send them, to see the latency of a service that is not saturated.

A file's latency is client-side: from the moment its upload's answer arrived to the moment
a long-poll ``GET /v1/files/{id}?wait=30`` answered it READY (the server re-reads the file
every 200 ms while it holds a long-poll, which bounds the resolution).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

import httpx

from bench.e2e_files import Photo
from bench.harness import per_second
from filegate.adapters.tokens import TokenAuthority
from filegate.domain.clock import SystemClock
from filegate.domain.models import Owner, OwnerKind

LONG_POLL_SECONDS = 30
_TIMEOUT_SECONDS = 120.0
_PENDING = frozenset({"registered", "uploaded"})


@dataclass(frozen=True)
class Pass:
    """What sending a set of files took: how many, the wall time until the last was seen
    READY, each file's latency (seconds from its upload's end to READY), and how many
    HTTP requests the clients made (registrations, uploads and status reads)."""

    files: int
    seconds: float
    latencies: list[float]
    requests: int = 0

    @property
    def rate(self) -> float:
        return per_second(self.files, self.seconds)

    def latency_ms(self, quantile: float) -> float:
        """The nearest-rank ``quantile`` (0-1) of the latencies, in milliseconds."""
        ordered = sorted(self.latencies)
        rank = max(1, math.ceil(quantile * len(ordered)))
        return 1000 * ordered[rank - 1]


class FileRefused(RuntimeError):
    """The service answered a step with an unexpected status or state: the figure is void."""


def tokens(secret: str, users: int, prefix: str) -> list[str]:
    """Bearer tokens of ``users`` distinct users, signed with the servers' ``secret``."""
    authority = TokenAuthority(secret, SystemClock())
    owners = [Owner(OwnerKind.USER, f"{prefix}{index}") for index in range(users)]
    return [authority.mint(owner, timedelta(hours=2)) for owner in owners]


async def saturate(api: str, user_tokens: Sequence[str], files: Sequence[Photo]) -> Pass:
    """One client per token sends ``files`` back to back; one watcher follows them, in the
    order their uploads ended, until each is READY.

    A single watcher keeps the long-polls from adding load while verification lags; a
    file that turns READY before an earlier one is seen when the watcher reaches it.
    """
    pending = iter(files)
    uploaded: asyncio.Queue[tuple[str, str, float] | None] = asyncio.Queue()

    async def client(token: str) -> None:
        async with _client(api) as http:
            for photo in pending:
                file_id, ended = await _send(http, token, photo)
                uploaded.put_nowait((token, file_id, ended))

    async def watcher() -> tuple[list[float], float, int]:
        latencies, seen, reads = [], time.perf_counter(), 0
        async with _client(api) as http:
            while (item := await uploaded.get()) is not None:
                token, file_id, ended = item
                seen, polls = await _ready(http, token, file_id)
                latencies.append(seen - ended)
                reads += polls
        return latencies, seen, reads

    started = time.perf_counter()
    watching = asyncio.create_task(watcher())
    await asyncio.gather(*(client(token) for token in user_tokens))
    uploaded.put_nowait(None)
    latencies, last_seen, reads = await watching
    return Pass(len(files), last_seen - started, latencies, 2 * len(files) + reads)


async def paced(api: str, user_tokens: Sequence[str], files: Sequence[Photo], rate: float) -> Pass:
    """Start one file every ``1 / rate`` seconds (users taking turns), each
    registered, uploaded and long-polled on its own."""
    async with _client(api) as http:
        started = time.perf_counter()

        async def one(index: int, photo: Photo) -> tuple[float, float, int]:
            await asyncio.sleep(max(0.0, started + index / rate - time.perf_counter()))
            token = user_tokens[index % len(user_tokens)]
            file_id, ended = await _send(http, token, photo)
            seen, polls = await _ready(http, token, file_id)
            return seen - ended, seen, 2 + polls

        outcomes = await asyncio.gather(*(one(i, photo) for i, photo in enumerate(files)))
    last_seen = max(seen for _, seen, _ in outcomes)
    latencies = [latency for latency, _, _ in outcomes]
    return Pass(len(files), last_seen - started, latencies, sum(n for _, _, n in outcomes))


def _client(api: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=api, timeout=_TIMEOUT_SECONDS)


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _send(http: httpx.AsyncClient, token: str, photo: Photo) -> tuple[str, float]:
    """Register ``photo`` and upload its bytes as instructed; its id, and when the upload's
    answer arrived (``time.perf_counter``)."""
    declared = {
        "filename": photo.path.name,
        "content_type": "image/jpeg",
        "size": photo.size,
        "sha256": photo.sha256,
    }
    answer = await http.post("/v1/files", json=declared, headers=_auth(token))
    _expect(answer, 201)
    registered = answer.json()
    upload = registered["upload"]
    put = await http.request(
        upload["method"], upload["url"], headers=upload["headers"], content=photo.path.read_bytes()
    )
    ended = time.perf_counter()
    if not put.is_success:
        raise FileRefused(f"upload of {photo.path.name}: {put.status_code} {put.text[:300]}")
    return str(registered["id"]), ended


async def _ready(http: httpx.AsyncClient, token: str, file_id: str) -> tuple[float, int]:
    """Long-poll until the file is READY; when that answer arrived (``time.perf_counter``)
    and how many requests it took."""
    requests = 0
    while True:
        answer = await http.get(
            f"/v1/files/{file_id}", params={"wait": LONG_POLL_SECONDS}, headers=_auth(token)
        )
        requests += 1
        _expect(answer, 200)
        state = answer.json()["state"]
        if state not in _PENDING:
            if state != "ready":
                raise FileRefused(f"file {file_id} ended {state}: {answer.text[:300]}")
            return time.perf_counter(), requests


def _expect(answer: httpx.Response, status: int) -> None:
    if answer.status_code != status:
        raise FileRefused(f"{answer.request.url.path}: {answer.status_code} {answer.text[:300]}")
