"""How the benchmark's clients learn that a file is READY: each user follows its own
``GET /v1/events`` stream, as the web page does, instead of long-polling every file.

A file's READY time is when its ``file.ready`` event arrived on the stream. Every stream is
open (its first frame read) before the user's first upload, so no event can be missed; a
stream that ends (the server's maximum duration) is reopened with ``Last-Event-ID``.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Sequence
from types import TracebackType

import httpx

_READY, _REJECTED = "file.ready", "file.rejected"


class StreamRefused(RuntimeError):
    """A file ended other than READY, or a stream could not be followed."""


class ReadyWatch:
    """One event stream per token; :meth:`ready` waits for a file's ``file.ready``."""

    def __init__(self, api: str, user_tokens: Sequence[str]) -> None:
        self._api = api
        self._tokens = list(user_tokens)
        self._seen: dict[str, float | BaseException] = {}
        self._waiters: dict[str, asyncio.Future[float]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self.connections = 0
        """Stream requests made (one per user, plus a reconnection per maximum duration)."""

    async def __aenter__(self) -> ReadyWatch:
        opened = [asyncio.get_running_loop().create_future() for _ in self._tokens]
        self._tasks = [
            asyncio.create_task(self._follow(token, ready))
            for token, ready in zip(self._tokens, opened, strict=True)
        ]
        await asyncio.gather(*opened)
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def ready(self, file_id: str) -> float:
        """When ``file_id``'s ``file.ready`` arrived (``time.perf_counter``)."""
        seen = self._seen.get(file_id)
        if seen is None:
            waiter = self._waiters.setdefault(file_id, asyncio.get_running_loop().create_future())
            return await waiter
        if isinstance(seen, BaseException):
            raise seen
        return seen

    def _arrived(self, file_id: str, outcome: float | BaseException) -> None:
        self._seen[file_id] = outcome
        waiter = self._waiters.pop(file_id, None)
        if waiter is None or waiter.done():
            return
        if isinstance(outcome, BaseException):
            waiter.set_exception(outcome)
        else:
            waiter.set_result(outcome)

    async def _follow(self, token: str, opened: asyncio.Future[None]) -> None:
        last_id: str | None = None
        async with httpx.AsyncClient(base_url=self._api, timeout=None) as http:
            while True:
                headers = {"Authorization": f"Bearer {token}"}
                if last_id is not None:
                    headers["Last-Event-ID"] = last_id
                self.connections += 1
                async with http.stream("GET", "/v1/events", headers=headers) as answer:
                    if answer.status_code != 200:
                        error = StreamRefused(f"/v1/events answered {answer.status_code}")
                        if not opened.done():
                            opened.set_exception(error)
                        raise error
                    async for frame in _frames(answer.aiter_lines()):
                        last_id = frame.get("id", last_id)
                        if not opened.done():
                            opened.set_result(None)
                        self._handle(frame)

    def _handle(self, frame: dict[str, str]) -> None:
        kind, data = frame.get("event"), frame.get("data")
        if kind not in (_READY, _REJECTED) or data is None:
            return
        file = json.loads(data)["data"]
        if kind == _READY:
            self._arrived(file["id"], time.perf_counter())
        else:
            self._arrived(file["id"], StreamRefused(f"file {file['id']} rejected: {file}"))


async def _frames(lines: AsyncIterator[str]) -> AsyncIterator[dict[str, str]]:
    """The fields of each frame (comments skipped; a frame's ``data`` lines joined)."""
    frame: dict[str, str] = {}
    async for line in lines:
        if not line:
            if frame:
                yield frame
            frame = {}
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        frame[name] = f"{frame[name]}\n{value}" if name == "data" and name in frame else value
