"""The local store's file-system steps: scans and the small blocking operations the
store runs off the event loop, and the mapping of OS errors to filegate's.

Everything here blocks; :mod:`filegate.adapters.local.store` calls it through worker
threads.
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from filegate.domain.errors import BackendUnavailable, ErrorCode, FilegateError
from filegate.domain.models import ListedObject

_ABSENT = (FileNotFoundError, NotADirectoryError, IsADirectoryError)
_NO_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT})


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
