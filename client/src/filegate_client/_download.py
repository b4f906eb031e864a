"""Where downloaded bytes go: hashed on the way, and kept at a path only if the hash matches."""

from __future__ import annotations

import contextlib
import hashlib
import os
import uuid
from pathlib import Path
from typing import IO

from filegate_client.errors import DownloadChecksumError

Destination = str | os.PathLike[str] | IO[bytes]
"""A file path, an existing folder (the file's name is used inside it), or a binary stream."""


class PathSink:
    """Writes to a temporary file beside ``target``; renames it into place once verified."""

    def __init__(self, target: Path) -> None:
        self.target = target
        self._temp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.part")
        self._file: IO[bytes] | None = None
        self._digest = hashlib.sha256()

    @property
    def restartable(self) -> bool:
        return True

    def write(self, chunk: bytes) -> None:
        if self._file is None:
            self._file = self._temp.open("wb")
        self._file.write(chunk)
        self._digest.update(chunk)

    def restart(self) -> None:
        """Forget what was written (a failed try starts again from the first byte)."""
        if self._file is not None:
            self._file.seek(0)
            self._file.truncate()
        self._digest = hashlib.sha256()

    def finish(self, expected_sha256: str | None) -> None:
        """Verify, flush to disk and move into place; on a mismatch remove everything."""
        file = self._file or self._temp.open("wb")  # an empty download still creates the file
        file.flush()
        os.fsync(file.fileno())
        file.close()
        self._file = None
        _verify(self._digest.hexdigest(), expected_sha256)
        self._temp.replace(self.target)

    def abort(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        with contextlib.suppress(FileNotFoundError):
            self._temp.unlink()


class StreamSink:
    """Writes straight into the caller's stream; a failure after the first byte is final."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self._digest = hashlib.sha256()
        self._written = 0

    @property
    def restartable(self) -> bool:
        return self._written == 0

    def write(self, chunk: bytes) -> None:
        self._stream.write(chunk)
        self._digest.update(chunk)
        self._written += len(chunk)

    def restart(self) -> None:
        if self._written:
            raise RuntimeError("cannot restart a download already written to a stream")

    def finish(self, expected_sha256: str | None) -> None:
        _verify(self._digest.hexdigest(), expected_sha256)

    def abort(self) -> None:
        pass


Sink = PathSink | StreamSink


def open_sink(destination: Destination, filename: str, file_id: str) -> Sink:
    """The sink for ``destination``; a folder receives the file under its (base) name."""
    if not isinstance(destination, str | os.PathLike):
        return StreamSink(destination)
    target = Path(destination)
    if target.is_dir():
        target = target / _safe_name(filename, file_id)
    return PathSink(target)


def _safe_name(filename: str, file_id: str) -> str:
    name = Path(filename.replace("\\", "/")).name.strip()
    return name if name not in ("", ".", "..") else file_id


def _verify(actual: str, expected: str | None) -> None:
    if expected is not None and actual != expected.lower():
        raise DownloadChecksumError(expected, actual)
