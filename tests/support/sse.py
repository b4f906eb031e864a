"""Reading a Server-Sent Events stream in tests, frame by frame, as a client would."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass(frozen=True)
class Frame:
    """One frame: its fields in order (a comment is the field ``""``)."""

    fields: list[tuple[str, str]] = field(default_factory=list)

    def get(self, name: str) -> str | None:
        return next((value for key, value in self.fields if key == name), None)

    @property
    def is_event(self) -> bool:
        return any(key == "data" for key, _ in self.fields)

    @property
    def data(self) -> dict[str, Any]:
        """The event's ``data`` lines joined and parsed as JSON."""
        parsed: dict[str, Any] = json.loads(
            "\n".join(value for key, value in self.fields if key == "data")
        )
        return parsed


class SseReader:
    """The frames of a streaming ``httpx`` response, one at a time."""

    def __init__(self, response: httpx.Response) -> None:
        self._lines: AsyncIterator[str] = response.aiter_lines()

    async def frame(self) -> Frame | None:
        """The next frame, or ``None`` once the stream has ended."""
        fields: list[tuple[str, str]] = []
        async for line in self._lines:
            if line == "":
                if fields:
                    return Frame(fields)
                continue
            name, _, value = line.partition(":")
            fields.append((name, value.removeprefix(" ")))
        return Frame(fields) if fields else None

    async def event(self) -> Frame:
        """The next frame that is an event (skipping the opening frame and comments)."""
        while True:
            frame = await self.frame()
            assert frame is not None, "the stream ended before another event"
            if frame.is_event:
                return frame

    async def events(self, count: int) -> list[Frame]:
        return [await self.event() for _ in range(count)]
