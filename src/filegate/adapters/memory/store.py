"""An ``ObjectStore`` and ``ObjectLister`` fake over a dict."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

from anyio import to_thread

from filegate.domain.clock import SystemClock
from filegate.domain.models import (
    ListedObject,
    ObjectInfo,
)
from filegate.domain.ports import Clock


class MemoryObjectStore:
    """An ``ObjectStore`` (and ``ObjectLister``) in a dict; ``put_bytes`` stands in for an
    upload, ``put`` is the port's server-made write (from a file).

    The ETag is the SHA-256; an object's last-modified time is the clock's time of its write.
    ``content_types`` records the type each ``put`` stored an object as.
    """

    def __init__(self, clock: Clock | None = None) -> None:
        self._clock = clock or SystemClock()
        self._objects: dict[str, bytes] = {}
        self._modified: dict[str, datetime] = {}
        self.content_types: dict[str, str] = {}

    async def put(self, key: str, path: Path, content_type: str) -> None:
        """Store the file's bytes under ``key`` (read whole first, so nothing partial)."""
        data = await to_thread.run_sync(path.read_bytes)
        self.put_bytes(key, data)
        self.content_types[key] = content_type

    def put_bytes(self, key: str, data: bytes) -> ObjectInfo:
        """Store ``data`` under ``key`` (replacing any object there) and describe it."""
        self._objects[key] = bytes(data)
        self._modified[key] = self._clock.now()
        return ObjectInfo(key, len(data), hashlib.sha256(data).hexdigest())

    async def list_objects(self, prefix: str | None = None) -> AsyncIterator[ListedObject]:
        snapshot = [
            ListedObject(key, len(data), self._modified[key])
            for key, data in sorted(self._objects.items())
            if prefix is None or key.startswith(prefix)
        ]
        for listed in snapshot:  # the store may change while the caller iterates
            yield listed

    async def head(self, key: str) -> ObjectInfo | None:
        data = self._objects.get(key)
        if data is None:
            return None
        return ObjectInfo(key, len(data), hashlib.sha256(data).hexdigest())

    async def read(self, key: str, chunk_size: int = 1 << 20) -> AsyncIterator[bytes]:
        data = self._objects.get(key)
        if data is None:
            raise FileNotFoundError(key)
        for start in range(0, len(data), chunk_size):
            yield data[start : start + chunk_size]

    async def delete(self, key: str) -> None:
        self._objects.pop(key, None)
        self._modified.pop(key, None)
        self.content_types.pop(key, None)
