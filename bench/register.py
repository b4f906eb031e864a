"""``register``: ``POST /v1/files`` on the real ``filegate serve`` vs a bare INSERT endpoint.

For each database kind (SQLite, and PostgreSQL when reachable) two servers run side by
side, each in its own process on a database of its own: ``filegate serve --no-worker``
and the bare FastAPI app of :mod:`bench.bare_apps`, which INSERTs the same row into the
same table. Both take the same load: N keep-alive connections from the bare HTTP/1.1
client in a closed loop for a fixed time per repetition, at 8 and 32 connections, either
all with one bearer token (one owner) or with a token each (many owners). Rows are named
after the three: ``register sqlite 8c one-owner``.
"""

from __future__ import annotations

import asyncio
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bench import bare_apps, databases, servers
from bench.harness import Result, interleave_async
from bench.load import JsonPost, RawPool, run_for
from bench.registrations import FILES_PATH, declaration, new_secret, owners_headers


@dataclass(frozen=True)
class Scale:
    connections: tuple[int, ...]
    seconds: float
    repetitions: int


FULL = Scale(connections=(8, 32), seconds=0.5, repetitions=4)
QUICK = Scale(connections=(2,), seconds=0.1, repetitions=1)


@dataclass(frozen=True)
class _Servers:
    """The base URLs of filegate's server and of the bare one, and filegate's secret."""

    filegate: str
    bare: str
    secret: str


def run(quick: bool) -> list[Result]:
    scale = QUICK if quick else FULL
    return [result for kind in databases.kinds() for result in _run_on(kind, scale)]


def _run_on(kind: str, scale: Scale) -> list[Result]:
    secret = new_secret()
    with tempfile.TemporaryDirectory(prefix="bench-register-") as tmp:
        folder = Path(tmp)
        with (
            databases.scratch(kind, folder, "register_filegate") as ours,
            databases.scratch(kind, folder, "register_bare") as theirs,
        ):
            api = servers.filegate_serve(folder / "data", secret, ours)
            bare = bare_apps.server(kind, theirs)
            with servers.running(api, bare, log_dir=folder) as (api_url, bare_url):
                return asyncio.run(_measure(kind, _Servers(api_url, bare_url, secret), scale))


async def _measure(kind: str, urls: _Servers, scale: Scale) -> list[Result]:
    results: list[Result] = []
    for connections in scale.connections:
        async with (
            RawPool(urls.filegate, connections) as ours,
            RawPool(urls.bare, connections) as theirs,
        ):
            for many in (False, True):
                case = _Case(kind, connections, many)
                results.append(await case.measure(ours, theirs, urls.secret, scale))
    return results


@dataclass(frozen=True)
class _Case:
    """One row: a database kind, a number of connections, one owner or many."""

    kind: str
    connections: int
    many_owners: bool

    @property
    def name(self) -> str:
        owners = "many-owners" if self.many_owners else "one-owner"
        return f"register {self.kind} {self.connections}c {owners}"

    @property
    def baseline_is(self) -> str:
        return f"{bare_apps.DESCRIPTION[self.kind]}: one INSERT into the same files table"

    async def measure(self, ours: RawPool, theirs: RawPool, secret: str, scale: Scale) -> Result:
        headers = owners_headers(secret, self.connections, self.many_owners)
        our_requests = _requests(FILES_PATH, headers)
        their_requests = _requests(bare_apps.FILES_PATH, headers)
        medians = await interleave_async(
            lambda: _rate(ours, our_requests, scale.seconds),
            lambda: _rate(theirs, their_requests, scale.seconds),
            scale.repetitions,
        )
        return Result.of(self.name, "req/s", medians, self.baseline_is)


def _requests(path: str, headers: list[dict[str, str]]) -> list[JsonPost]:
    """One request per connection, each declaring its own file."""
    return [JsonPost.of(path, declaration(index), h) for index, h in enumerate(headers)]


async def _rate(pool: RawPool, requests: list[JsonPost], seconds: float) -> float:
    return (await run_for(pool.senders, requests, seconds)).rate
