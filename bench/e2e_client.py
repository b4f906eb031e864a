"""The client side of the end-to-end benchmark: register, upload to the presigned URL, and
wait until the file is READY, over real HTTP with httpx.

Two ways to send a set of files. :func:`saturate`: concurrent clients register and upload
back to back as fast as the service lets them, so verification falls behind and the
workers are never idle; the pass lasts from the first registration to the last READY.
:func:`paced`: files start at a fixed rate below capacity, as independent users would
send them, to see the latency of a service that is not saturated.

A file's latency is client-side: from the moment its upload's answer arrived to the moment
its ``file.ready`` event arrived on its user's event stream (:mod:`bench.e2e_stream`), as
the web page learns it; no file is polled.
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
from bench.e2e_stream import ReadyWatch
from bench.harness import per_second
from filegate.adapters.tokens import TokenAuthority
from filegate.domain.clock import SystemClock
from filegate.domain.models import Owner, OwnerKind

_TIMEOUT_SECONDS = 120.0


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
    """One client per token sends ``files`` back to back, each user following its own event
    stream; the pass ends when every file's ``file.ready`` has arrived."""
    pending = iter(files)

    async def client(token: str, watch: ReadyWatch) -> list[tuple[float, float]]:
        sent = []
        async with _client(api) as http:
            for photo in pending:
                sent.append(await _send(http, token, photo))
        return [(await watch.ready(file_id), ended) for file_id, ended in sent]

    async with ReadyWatch(api, user_tokens) as watch:
        started = time.perf_counter()
        per_client = await asyncio.gather(*(client(token, watch) for token in user_tokens))
    outcomes = [outcome for sent in per_client for outcome in sent]
    last_seen = max(seen for seen, _ in outcomes)
    latencies = [seen - ended for seen, ended in outcomes]
    return Pass(len(files), last_seen - started, latencies, 2 * len(files) + watch.connections)


async def paced(api: str, user_tokens: Sequence[str], files: Sequence[Photo], rate: float) -> Pass:
    """Start one file every ``1 / rate`` seconds (users taking turns, each following its
    event stream), each registered and uploaded on its own."""
    async with _client(api) as http, ReadyWatch(api, user_tokens) as watch:
        started = time.perf_counter()

        async def one(index: int, photo: Photo) -> tuple[float, float]:
            await asyncio.sleep(max(0.0, started + index / rate - time.perf_counter()))
            token = user_tokens[index % len(user_tokens)]
            file_id, ended = await _send(http, token, photo)
            return await watch.ready(file_id) - ended, time.perf_counter()

        outcomes = await asyncio.gather(*(one(i, photo) for i, photo in enumerate(files)))
    last_seen = max(seen for _, seen in outcomes)
    latencies = [latency for latency, _ in outcomes]
    return Pass(len(files), last_seen - started, latencies, 2 * len(files) + watch.connections)


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


def _expect(answer: httpx.Response, status: int) -> None:
    if answer.status_code != status:
        raise FileRefused(f"{answer.request.url.path}: {answer.status_code} {answer.text[:300]}")
