"""Streams for tests of code that reads bytes from file-like objects."""

from __future__ import annotations

import io


class OneWayStream(io.RawIOBase):
    """A readable stream that cannot seek, like a pipe; reads at most 1000 bytes at a time."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        chunk = self._data.read(min(len(buffer), 1000))
        buffer[: len(chunk)] = chunk
        return len(chunk)
