"""The local store's file-system steps: the hashing writer, sidecars, scans and the
small blocking operations the store runs off the event loop.

Everything here but :class:`HashingWriter` blocks; :mod:`filegate.adapters.local.store`
calls it through worker threads. The sidecar format, ``<sha256> <inode> <size>
<mtime_ns>``, is described there.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import logging
import os
import stat
import uuid
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from anyio import to_thread

from filegate.domain.errors import BackendUnavailable, ErrorCode, FilegateError
from filegate.domain.models import ListedObject, ObjectInfo

log = logging.getLogger(__name__)

WRITE_BLOCK_BYTES = 1 << 20
"""Bytes an upload gathers before each write (and hash update) off the event loop."""
_HASH_BLOCK_BYTES = 1 << 20
_ABSENT = (FileNotFoundError, NotADirectoryError, IsADirectoryError)
_NO_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT})


class HashingWriter:
    """Hashes a stream and writes it in large blocks, each off the event loop."""

    def __init__(self, handle: BinaryIO) -> None:
        self._handle = handle
        self._hash = hashlib.sha256()
        self._pending: list[bytes] = []
        self._pending_bytes = 0

    async def drain(self, body: AsyncIterator[bytes], size: int) -> str:
        """Consume exactly ``size`` bytes of ``body``; return their SHA-256 hex."""
        received = 0
        async for chunk in body:
            received += len(chunk)
            if received > size:
                raise _length_mismatch("The body is longer than the URL's length.")
            self._pending.append(chunk)
            self._pending_bytes += len(chunk)
            if self._pending_bytes >= WRITE_BLOCK_BYTES:
                await self._flush()
        if received < size:
            raise _length_mismatch("The body is shorter than the URL's length.")
        await self._flush()
        return self._hash.hexdigest()

    async def _flush(self) -> None:
        block = b"".join(self._pending)
        self._pending.clear()
        self._pending_bytes = 0
        await to_thread.run_sync(self._write, block)

    def _write(self, block: bytes) -> None:
        self._hash.update(block)
        self._handle.write(block)


@dataclass(frozen=True)
class _Fingerprint:
    inode: int
    size: int
    mtime_ns: int

    @classmethod
    def of(cls, st: os.stat_result) -> _Fingerprint:
        return cls(st.st_ino, st.st_size, st.st_mtime_ns)


def object_info(key: str, path: Path, tmp_dir: Path) -> ObjectInfo | None:
    """Size and SHA-256 of the regular file at ``path``, from its sidecar when that still
    describes the file, else by hashing it (and rewriting the sidecar); ``None`` if absent."""
    try:
        st = path.stat()
    except _ABSENT:
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    sha256 = _read_sidecar(path, _Fingerprint.of(st)) or _rehash(path, tmp_dir)
    return ObjectInfo(key, st.st_size, sha256)


def _rehash(path: Path, tmp_dir: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(_HASH_BLOCK_BYTES):
            digest.update(block)
        st = os.fstat(handle.fileno())
    write_sidecar_quietly(path, tmp_dir, digest.hexdigest(), st)
    return digest.hexdigest()


def sidecar_of(path: Path) -> Path:
    """Where the sidecar of the object file ``path`` lives (beside it, a dot name)."""
    return path.with_name(f".{path.name}.sha256")


def _read_sidecar(path: Path, expected: _Fingerprint) -> str | None:
    try:
        sha256, inode, size, mtime_ns = sidecar_of(path).read_text().split()
        recorded = _Fingerprint(int(inode), int(size), int(mtime_ns))
    except (OSError, ValueError):
        return None
    return sha256 if recorded == expected else None


def write_sidecar_quietly(path: Path, tmp_dir: Path, sha256: str, st: os.stat_result) -> None:
    """Record ``sha256`` for the file ``st`` describes; a failure only costs a rehash later."""
    fp = _Fingerprint.of(st)
    temporary = tmp_dir / f"{uuid.uuid4().hex}.sidecar"
    try:
        temporary.write_text(f"{sha256} {fp.inode} {fp.size} {fp.mtime_ns}\n")
        temporary.replace(sidecar_of(path))
    except OSError as exc:
        log.warning("could not write the sidecar of %s: %s", path.name, exc.strerror)
    finally:
        temporary.unlink(missing_ok=True)


def scan_folder(root: str, folder: str) -> tuple[list[ListedObject], list[str]]:
    """The objects directly in ``folder`` (a key prefix, "" for the root) and its subfolders."""
    objects: list[ListedObject] = []
    subfolders: list[str] = []
    try:
        entries = list(os.scandir(Path(root, folder)))
    except _ABSENT:
        return [], []  # removed while we walked
    for entry in entries:
        if entry.name.startswith("."):
            continue
        key = f"{folder}/{entry.name}" if folder else entry.name
        with contextlib.suppress(*_ABSENT):
            if entry.is_dir(follow_symlinks=False):
                subfolders.append(key)
            elif entry.is_file(follow_symlinks=False):
                st = entry.stat(follow_symlinks=False)
                modified = datetime.fromtimestamp(st.st_mtime, UTC)
                objects.append(ListedObject(key, st.st_size, modified))
    return objects, subfolders


def may_hold(folder: str, prefix: str | None) -> bool:
    """Whether keys under ``folder`` can start with ``prefix``."""
    if prefix is None:
        return True
    return prefix.startswith(f"{folder}/") or f"{folder}/".startswith(prefix)


def create_exclusive(path: Path) -> BinaryIO:
    """Open a new file for writing; raises ``FileExistsError`` when ``path`` exists."""
    return path.open("xb")


def open_at(path: Path, start: int) -> BinaryIO:
    """Open the object file for reading at byte ``start``; ``FileNotFoundError`` if absent."""
    try:
        handle = path.open("rb")
    except _ABSENT as exc:
        raise FileNotFoundError(f"no object at {path.name}") from exc
    handle.seek(start)
    return handle


def remove_all(paths: Iterable[Path]) -> None:
    """Unlink every path; one that is already gone is skipped."""
    for path in paths:
        with contextlib.suppress(*_ABSENT):
            path.unlink()


def make_dirs(directory: Path) -> list[Path]:
    """Create ``directory`` and missing parents; return the parents whose entries changed."""
    missing: list[Path] = []
    while not directory.exists():
        missing.append(directory)
        directory = directory.parent
    for path in reversed(missing):
        path.mkdir(exist_ok=True)
    return [path.parent for path in missing]


def fsync_dir(directory: Path) -> None:
    """Make ``directory``'s entries durable (after a link or a mkdir in it)."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _length_mismatch(detail: str) -> FilegateError:
    return FilegateError(ErrorCode.LENGTH_MISMATCH, detail)


@contextlib.contextmanager
def disk_errors() -> Iterator[None]:
    """Let absence through; a full disk (or quota) is ``STORAGE_FULL`` (507); other OS
    failures (an I/O error) are ``BackendUnavailable`` (503)."""
    try:
        yield
    except (*_ABSENT, FileExistsError):
        raise
    except OSError as exc:
        if exc.errno in _NO_SPACE:
            raise FilegateError(
                ErrorCode.STORAGE_FULL, "The store has no space left for this upload."
            ) from exc
        raise BackendUnavailable(f"local store: {exc.strerror or type(exc).__name__}") from exc
