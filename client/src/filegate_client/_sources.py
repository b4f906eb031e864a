"""The bytes to upload: a path, a bytes-like object or a binary stream, read in chunks.

Preparing a source hashes it once (SHA-256, streaming) and guesses its type from the magic
bytes; uploading reads it again, once per attempt. Nothing large is ever held in memory:
a stream that cannot seek is spooled to a temporary file while it is hashed.
"""

from __future__ import annotations

import hashlib
import mimetypes
import os
import tempfile
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol

from filegate_client.errors import SourceError
from filegate_client.models import Declaration

Source = str | os.PathLike[str] | bytes | bytearray | memoryview | IO[bytes]
"""What :meth:`Client.upload` accepts: a file path, the bytes themselves, or a binary stream."""

CHUNK_SIZE = 512 * 1024
_HEAD_SIZE = 256
_GENERIC = "application/octet-stream"
_HEIC_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs"})
_AVIF_BRANDS = frozenset({b"avif", b"avis"})
_HEIF_BRANDS = frozenset({b"mif1", b"msf1", b"mif2", b"miaf"})
_SIGNATURES: tuple[tuple[str, tuple[bytes, ...]], ...] = (
    ("image/jpeg", (b"\xff\xd8\xff",)),
    ("image/png", (b"\x89PNG\r\n\x1a\n",)),
    ("image/gif", (b"GIF87a", b"GIF89a")),
    ("image/tiff", (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")),
    ("image/bmp", (b"BM",)),
)


class Blob(Protocol):
    """Bytes that can be read again from any offset."""

    @property
    def size(self) -> int: ...

    @property
    def blocking(self) -> bool:
        """Whether reading may block on I/O (async callers then read in a thread)."""
        ...

    def chunks(self, offset: int, length: int) -> Generator[bytes, None, None]:
        """``length`` bytes from ``offset``, in chunks of at most ``CHUNK_SIZE``."""
        ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class MemoryBlob:
    data: bytes
    blocking: bool = False

    @property
    def size(self) -> int:
        return len(self.data)

    def chunks(self, offset: int, length: int) -> Generator[bytes, None, None]:
        view = memoryview(self.data)[offset : offset + length]
        for start in range(0, len(view), CHUNK_SIZE):
            yield bytes(view[start : start + CHUNK_SIZE])

    def close(self) -> None:
        pass


@dataclass(frozen=True)
class FileBlob:
    path: Path
    size: int
    blocking: bool = True

    def chunks(self, offset: int, length: int) -> Generator[bytes, None, None]:
        with self.path.open("rb") as file:
            file.seek(offset)
            yield from _read_exactly(file, length)

    def close(self) -> None:
        pass


@dataclass
class StreamBlob:
    """A seekable stream, read from ``start``; closed at the end only if ``owned``."""

    stream: IO[bytes]
    start: int
    size: int
    owned: bool = False
    blocking: bool = True

    def chunks(self, offset: int, length: int) -> Generator[bytes, None, None]:
        self.stream.seek(self.start + offset)
        yield from _read_exactly(self.stream, length)

    def close(self) -> None:
        if self.owned:
            self.stream.close()


def _read_exactly(stream: IO[bytes], length: int) -> Generator[bytes, None, None]:
    remaining = length
    while remaining > 0:
        chunk = stream.read(min(CHUNK_SIZE, remaining))
        if not chunk:
            raise SourceError("the source ended early (did it change while uploading?)")
        remaining -= len(chunk)
        yield chunk


HashProgress = Callable[[int, int], None]
"""Called with (bytes hashed, total bytes) while a source is hashed."""


@dataclass
class PreparedSource:
    """A source ready to upload: its bytes and what to declare about them."""

    blob: Blob
    declaration: Declaration

    def close(self) -> None:
        self.blob.close()


def prepare(
    source: Source,
    *,
    filename: str | None = None,
    content_type: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    on_hashed: HashProgress | None = None,
) -> PreparedSource:
    """Open ``source``, hash it and work out what to declare.

    The content type is ``content_type`` if given, else the one its magic bytes show, else
    a guess from the file name. Raises :class:`SourceError` when the source is unreadable.
    """
    try:
        blob, default_name = _open(source)
    except OSError as exc:
        raise SourceError(f"cannot read {_describe(source)}: {exc.strerror or exc}") from exc
    try:
        sha256, head = _hash(blob, on_hashed or _ignore)
    except OSError as exc:
        blob.close()
        raise SourceError(f"cannot read {_describe(source)}: {exc.strerror or exc}") from exc
    guessed = content_type or sniff_content_type(head) or _by_name(filename or default_name)
    name = filename or default_name or "upload" + (mimetypes.guess_extension(guessed) or "")
    declaration = Declaration(name, guessed, blob.size, sha256, dict(metadata or {}))
    return PreparedSource(blob, declaration)


def _open(source: Source) -> tuple[Blob, str | None]:
    if isinstance(source, bytes | bytearray | memoryview):
        return MemoryBlob(bytes(source)), None
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        if not path.is_file():
            raise SourceError(f"not a file: {path}")
        return FileBlob(path, path.stat().st_size), path.name
    name = getattr(source, "name", None)
    default_name = Path(name).name if isinstance(name, str) and name else None
    if source.seekable():
        start = source.tell()
        end = source.seek(0, os.SEEK_END)
        return StreamBlob(source, start, end - start), default_name
    return _spooled(source), default_name


def _spooled(stream: IO[bytes]) -> StreamBlob:
    spool: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - owned by the blob
    size = 0
    while chunk := stream.read(CHUNK_SIZE):
        spool.write(chunk)
        size += len(chunk)
    return StreamBlob(spool, 0, size, owned=True)


def _hash(blob: Blob, on_hashed: HashProgress) -> tuple[str, bytes]:
    digest = hashlib.sha256()
    head = b""
    done = 0
    on_hashed(0, blob.size)
    for chunk in blob.chunks(0, blob.size):
        digest.update(chunk)
        if len(head) < _HEAD_SIZE:
            head += chunk[: _HEAD_SIZE - len(head)]
        done += len(chunk)
        on_hashed(done, blob.size)
    return digest.hexdigest(), head


def sniff_content_type(head: bytes) -> str | None:
    """The image type the first bytes of a file show (as the server reads them), if any."""
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[4:8] == b"ftyp":
        return _iso_type(head)
    for content_type, prefixes in _SIGNATURES:
        if head.startswith(prefixes):
            return content_type
    return None


def _iso_type(head: bytes) -> str | None:
    major = head[8:12]
    box_end = min(int.from_bytes(head[:4], "big"), len(head))
    brands = {major} | {head[i : i + 4] for i in range(16, box_end - 3, 4)}
    if major in _HEIC_BRANDS:
        return "image/heic"
    if major in _AVIF_BRANDS:
        return "image/avif"
    if major not in _HEIF_BRANDS:
        return None
    if brands & _HEIC_BRANDS:
        return "image/heic"
    return "image/avif" if brands & _AVIF_BRANDS else "image/heif"


def _by_name(name: str | None) -> str:
    guessed = mimetypes.guess_type(name)[0] if name else None
    return guessed or _GENERIC


def source_label(source: Source, filename: str | None, index: int) -> str:
    """How progress reports and outcomes name a source: its path, name, or position."""
    if isinstance(source, str | os.PathLike):
        return str(source)
    name = getattr(source, "name", None)
    if filename is None and isinstance(name, str) and name:
        return Path(name).name
    return filename or f"upload #{index + 1}"


def _describe(source: Source) -> str:
    return f"'{source}'" if isinstance(source, str | os.PathLike) else "the stream"


def _ignore(done: int, total: int) -> None:
    pass
