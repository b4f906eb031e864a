"""Receiving one signed PUT into the local store: the body into a temporary file, then
publishing it under its key.

The event loop only gathers the body's chunks; every large block is hashed and written
by a worker thread (hashlib and file writes release the GIL), and the last block, the
checks, the fsyncs and the link run in one more hand-off. A body of one block (most
photos) therefore costs the loop a single thread hand-off.

Durability, with the fewest flushes that keep a crash from showing a partial object:
the bytes and their SHA-256 record (an attribute of the same inode) are fsynced once in
the temporary file; ``os.link`` then gives them their name, atomically, and fails if the
key is taken; an fsync of the key's folder makes the name durable before the upload is
answered. A crash before that fsync loses the name (the client never got a success),
never half of the bytes. Concurrent uploads' fsyncs are batched by the filesystem's
journal (one commit serves all that wait on it); batching them here as well only made
them wait in turn.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

from anyio import to_thread

from filegate.adapters.local.disk import fsync_dir, make_dirs
from filegate.adapters.local.metadata import record_on_inode, write_sidecar_quietly
from filegate.domain.errors import ErrorCode, FilegateError
from filegate.domain.models import UploadSpec

BLOCK_BYTES = 1 << 20
"""Bytes the loop gathers before handing a block to a worker thread."""
_MAX_BUFFERS = 1024  # IOV_MAX on Linux and macOS
_OPEN_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)


class TemporaryObject:
    """An upload's bytes gathered in a new file, hashed as they are written.

    Every method blocks: call them from one worker thread at a time. The file is created
    at the first write; :meth:`discard` closes and removes it (always call it).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None
        self._hash = hashlib.sha256()

    def append(self, chunks: Sequence[bytes]) -> None:
        """Hash and write ``chunks`` at the end of the file (``FileExistsError`` if a file
        of this name was there before the first write)."""
        fd = self._open()
        for chunk in chunks:
            self._hash.update(chunk)
        for start in range(0, len(chunks), _MAX_BUFFERS):
            _write_all(fd, chunks[start : start + _MAX_BUFFERS])

    def sha256(self) -> str:
        return self._hash.hexdigest()

    def publish(self, final: Path) -> None:
        """Make the bytes durable and link them in as ``final``; ``ALREADY_UPLOADED`` when
        the key is taken. On return the object and its SHA-256 record are durable."""
        fd = self._open()
        recorded = record_on_inode(fd, self.sha256())
        os.fsync(fd)
        created = make_dirs(final.parent)
        try:
            os.link(self.path, final)
        except FileExistsError as exc:
            raise _already_uploaded() from exc
        try:
            for folder in [final.parent, *created]:
                fsync_dir(folder)
        except OSError:
            final.unlink(missing_ok=True)
            raise
        if not recorded:
            write_sidecar_quietly(final, self.path.parent, self.sha256(), os.fstat(fd))

    def discard(self) -> None:
        """Close the file and remove the temporary name (the published link stays)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self.path.unlink(missing_ok=True)

    def _open(self) -> int:
        if self._fd is None:
            self._fd = os.open(self.path, _OPEN_FLAGS, 0o666)
        return self._fd


async def receive(
    body: AsyncIterator[bytes], spec: UploadSpec, temporary: TemporaryObject
) -> list[bytes]:
    """Consume exactly ``spec.size`` bytes of ``body``, writing every full block off the
    loop; return the last block, still unwritten.

    Raises ``LENGTH_MISMATCH`` as soon as more than ``spec.size`` bytes arrive, or when
    the body ends short.
    """
    pending: list[bytes] = []
    pending_bytes = received = 0
    async for chunk in body:
        received += len(chunk)
        if received > spec.size:
            raise _length_mismatch("The body is longer than the URL's length.")
        pending.append(chunk)
        pending_bytes += len(chunk)
        # A complete body stays pending: its end is written along with the publishing.
        if pending_bytes >= BLOCK_BYTES and received < spec.size:
            await to_thread.run_sync(temporary.append, pending)
            pending, pending_bytes = [], 0
    if received < spec.size:
        raise _length_mismatch("The body is shorter than the URL's length.")
    return pending


def finish(
    temporary: TemporaryObject,
    last: Sequence[bytes],
    spec: UploadSpec,
    final: Path,
) -> str:
    """Write ``last``, check the SHA-256 against ``spec``, publish as ``final`` (blocks).

    Returns the SHA-256 hex; raises ``CHECKSUM_MISMATCH`` (nothing published) or as
    :meth:`TemporaryObject.publish`.
    """
    temporary.append(last)
    sha256 = temporary.sha256()
    if spec.sha256 is not None and sha256 != spec.sha256.lower():
        raise FilegateError(
            ErrorCode.CHECKSUM_MISMATCH, "The bytes' SHA-256 differs from the URL's."
        )
    temporary.publish(final)
    return sha256


def _write_all(fd: int, chunks: Sequence[bytes]) -> None:
    views = [memoryview(chunk) for chunk in chunks if chunk]
    while views:
        written = os.writev(fd, views)
        while views and written >= len(views[0]):
            written -= len(views[0])
            views.pop(0)
        if views:
            views[0] = views[0][written:]


def _already_uploaded() -> FilegateError:
    return FilegateError(ErrorCode.ALREADY_UPLOADED, "An object already exists under this key.")


def _length_mismatch(detail: str) -> FilegateError:
    return FilegateError(ErrorCode.LENGTH_MISMATCH, detail)
