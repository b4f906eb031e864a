"""An ``ObjectStore`` and ``ObjectLister`` fake over a dict."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from datetime import datetime

from filegate.domain.clock import SystemClock
from filegate.domain.models import (
    ListedObject,
    ObjectInfo,
)
from filegate.domain.ports import Clock


class MemoryObjectStore:
    """An ``ObjectStore`` (and ``ObjectLister``) in a dict; ``put`` stands in for an upload.

    The ETag is the SHA-256; an object's last-modified time is the clock's time of its ``put``.
    """

    def __init__(self, clock: Clock | None = None) -> None:
        self._clock = clock or SystemClock()
        self._objects: dict[str, bytes] = {}
        self._modified: dict[str, datetime] = {}

    def put(self, key: str, data: bytes) -> ObjectInfo:
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
