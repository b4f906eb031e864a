"""The local object store: objects are files under one folder, written through signed PUTs.

Layout under ``root``::

    <key>                  the object; keys are relative paths whose segments never start
                           with a dot, so the store's own files below can never collide
    <dir>/.<name>.sha256   sidecar: the object's SHA-256 and the fingerprint of its file
    .tmp/                  uploads in progress (same filesystem, so publishing is a link)

Publishing is ``os.link(temporary, final)``: atomic, and it fails when the key exists, so
a key is written once and its winner is known. Only the winner writes the sidecar, after
the link. The sidecar is a cache: it names the file it describes by (inode, size, mtime),
and a missing or non-matching sidecar (a crash between link and sidecar, an orphan left by
a crash during a delete) makes ``head`` hash the file once and rewrite it. Extended
attributes would travel with the inode, but not every filesystem (tmpfs, some network
and container filesystems, macOS through ``os``) offers them; a sidecar works everywhere.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import stat
import uuid
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import BinaryIO
from urllib.parse import quote, urlencode

from anyio import to_thread

from filegate.adapters.local.url_signing import UrlGrant, UrlSigner
from filegate.domain.errors import BackendUnavailable, ErrorCode, FilegateError
from filegate.domain.filenames import sanitize_filename
from filegate.domain.models import (
    DownloadTerms,
    ListedObject,
    ObjectInfo,
    SignedRequest,
    UploadSpec,
    WrittenObject,
)
from filegate.domain.ports import Clock

log = logging.getLogger(__name__)

TEMP_DIR = ".tmp"
WRITE_BLOCK_BYTES = 1 << 20
MAX_KEY_BYTES = 1024
MAX_SEGMENT_BYTES = 200
_HASH_BLOCK_BYTES = 1 << 20
_ABSENT = (FileNotFoundError, NotADirectoryError, IsADirectoryError)


class InvalidObjectKey(ValueError):
    """A key that is not a safe relative path inside the store (never produced by the core)."""


class LocalObjectStore:
    """``ObjectStore``, ``ObjectLister``, ``LocalPaths``, ``UploadSigner``, ``DownloadSigner``
    and ``ServedStore`` on a folder.

    Signed URLs point at ``{public_url}/store/{key}``, served by ``filegate.http.routes.store``.
    """

    def __init__(self, root: Path, public_url: str, signer: UrlSigner, clock: Clock) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self._root = os.path.realpath(root)
        self._tmp = Path(self._root, TEMP_DIR)
        self._tmp.mkdir(exist_ok=True)
        self._public_url = public_url.rstrip("/")
        self._signer = signer
        self._clock = clock

    @property
    def temp_dir(self) -> Path:
        """Where uploads in progress live; empty when no upload is running."""
        return self._tmp

    def path_of(self, key: str) -> Path:
        """The file for ``key``; raises :class:`InvalidObjectKey` unless it stays inside root.

        The key's syntax is checked first, so a hostile key touches no disk at all.
        """
        check_key(key)
        candidate = os.path.realpath(Path(self._root, key))
        if os.path.commonpath([self._root, candidate]) != self._root:
            raise InvalidObjectKey("key resolves outside the store")
        return Path(candidate)

    # -- signing -------------------------------------------------------------------------

    def sign_upload(self, key: str, spec: UploadSpec, expires_in: timedelta) -> SignedRequest:
        """A PUT bound to key, exact length, content type, SHA-256 (when given) and expiry."""
        check_key(key)
        expires_at = self._expiry(expires_in)
        grant = UrlGrant("PUT", key, expires_at, spec.content_type, spec.size, spec.sha256)
        headers = {"Content-Type": spec.content_type, "Content-Length": str(spec.size)}
        return SignedRequest("PUT", self._url(grant), headers, expires_at)

    def sign_download(
        self, key: str, filename: str, content_type: str, expires_in: timedelta
    ) -> SignedRequest:
        """A GET serving the object as ``content_type``, attached as the sanitised ``filename``."""
        check_key(key)
        expires_at = self._expiry(expires_in)
        grant = UrlGrant("GET", key, expires_at, content_type, filename=sanitize_filename(filename))
        return SignedRequest("GET", self._url(grant), {}, expires_at)

    def verify_upload(self, key: str, query: Iterable[tuple[str, str]]) -> UploadSpec:
        """What a signed PUT URL with this ``query`` may write under ``key``.

        Raises ``FilegateError``: ``SIGNATURE_MISMATCH`` when the key is not one this store
        could have signed, or the signature does not hold for PUT on this key, or a bound
        field is missing; then ``URL_EXPIRED`` when the signature holds but has expired.
        """
        grant = self._verify("PUT", key, query)
        if grant.length is None:
            raise _unbound()
        return UploadSpec(grant.length, grant.content_type, grant.sha256)

    def verify_download(self, key: str, query: Iterable[tuple[str, str]]) -> DownloadTerms:
        """How a signed GET URL with this ``query`` serves ``key``; errors as for uploads."""
        grant = self._verify("GET", key, query)
        if grant.filename is None:
            raise _unbound()
        return DownloadTerms(grant.content_type, grant.filename, grant.expires_at)

    def time_left(self, expires_at: datetime) -> timedelta:
        """How long until ``expires_at`` by this store's clock (never negative)."""
        return max(timedelta(0), expires_at - self._clock.now())

    def _verify(self, method: str, key: str, query: Iterable[tuple[str, str]]) -> UrlGrant:
        try:
            check_key(key)
        except InvalidObjectKey as exc:
            raise FilegateError(
                ErrorCode.SIGNATURE_MISMATCH, "No URL is valid for this key."
            ) from exc
        grant = self._signer.verify(method, key, query)
        if not grant.content_type:
            raise _unbound()
        if self._clock.now() >= grant.expires_at:
            raise FilegateError(ErrorCode.URL_EXPIRED, "The URL has expired.")
        return grant

    def _expiry(self, expires_in: timedelta) -> datetime:
        # Whole seconds: the URL carries Unix seconds, and expires_at must say the same.
        return (self._clock.now() + expires_in).astimezone(UTC).replace(microsecond=0)

    def _url(self, grant: UrlGrant) -> str:
        query = urlencode(self._signer.sign(grant), quote_via=quote)
        return f"{self._public_url}/store/{quote(grant.key, safe='/')}?{query}"

    # -- reading and removing ------------------------------------------------------------

    async def head(self, key: str) -> ObjectInfo | None:
        """Size and ETag (the SHA-256 hex of the bytes), or ``None`` when absent."""
        path = self.path_of(key)
        with _disk_errors():
            return await to_thread.run_sync(_head, key, path, self._tmp)

    async def exists(self, key: str) -> bool:
        """Whether an object is stored under ``key`` (cheaper than :meth:`head`)."""
        path = self.path_of(key)
        return await to_thread.run_sync(path.is_file)

    def read(self, key: str, chunk_size: int = 1 << 20) -> AsyncIterator[bytes]:
        """Stream the object; raises ``FileNotFoundError`` when it does not exist."""
        return self.read_range(key, 0, None, chunk_size)

    async def read_range(
        self, key: str, start: int, stop: int | None, chunk_size: int = 1 << 20
    ) -> AsyncIterator[bytes]:
        """Stream bytes ``[start, stop)`` of the object (``stop`` ``None``: to the end)."""
        path = self.path_of(key)
        with _disk_errors():
            handle = await to_thread.run_sync(_open_at, path, start)
        try:
            remaining = None if stop is None else stop - start
            while remaining is None or remaining > 0:
                wanted = chunk_size if remaining is None else min(chunk_size, remaining)
                with _disk_errors():
                    chunk = await to_thread.run_sync(handle.read, wanted)
                if not chunk:
                    return
                remaining = None if remaining is None else remaining - len(chunk)
                yield chunk
        finally:
            handle.close()

    async def delete(self, key: str) -> None:
        """Remove the object and its sidecar; removing a missing object is not an error."""
        path = self.path_of(key)
        with _disk_errors():
            await to_thread.run_sync(_remove, [path, _sidecar_of(path)])

    async def list_objects(self, prefix: str | None = None) -> AsyncIterator[ListedObject]:
        """Every object (key starting with ``prefix``), one folder at a time off the loop.

        Uploads in progress (``.tmp/``) and sidecars are not objects: nothing whose name
        starts with a dot is. Modification times are the files' (UTC).
        """
        pending = [""]
        while pending:
            folder = pending.pop()
            with _disk_errors():
                listed, subfolders = await to_thread.run_sync(_scan, self._root, folder)
            pending.extend(f for f in subfolders if _may_hold(f, prefix))
            for item in listed:
                if prefix is None or item.key.startswith(prefix):
                    yield item

    # -- writing -------------------------------------------------------------------------

    async def write_upload(
        self, key: str, body: AsyncIterator[bytes], spec: UploadSpec
    ) -> WrittenObject:
        """Stream ``body`` into the object ``key`` if it is exactly what ``spec`` declares.

        Raises ``FilegateError``: ``LENGTH_MISMATCH`` as soon as more than ``spec.size``
        bytes arrive, or when the body ends short; ``CHECKSUM_MISMATCH`` when the SHA-256
        differs from ``spec.sha256``; ``ALREADY_UPLOADED`` when the key exists. Nothing is
        published unless all holds; the temporary file is removed in every case.
        """
        final = self.path_of(key)
        temporary = self._tmp / f"{uuid.uuid4().hex}.part"
        handle: BinaryIO | None = None
        try:
            with _disk_errors():
                handle = await to_thread.run_sync(_create, temporary)
                sha256 = await _HashingWriter(handle).drain(body, spec.size)
                if spec.sha256 is not None and sha256 != spec.sha256.lower():
                    raise FilegateError(
                        ErrorCode.CHECKSUM_MISMATCH, "The bytes' SHA-256 differs from the URL's."
                    )
                await to_thread.run_sync(self._publish, handle, temporary, final, sha256)
        finally:
            # Synchronous on purpose: an await here could be cancelled (client gone).
            if handle is not None:
                handle.close()
            temporary.unlink(missing_ok=True)
        return WrittenObject(ObjectInfo(key, spec.size, sha256), sha256)

    def _publish(self, handle: BinaryIO, temporary: Path, final: Path, sha256: str) -> None:
        handle.flush()
        os.fsync(handle.fileno())
        if final.exists():
            raise _already_uploaded()
        created = _make_dirs(final.parent)
        try:
            os.link(temporary, final)
        except FileExistsError as exc:
            raise _already_uploaded() from exc
        try:
            for directory in [final.parent, *created]:
                _fsync_dir(directory)
        except OSError:
            final.unlink(missing_ok=True)
            raise
        _write_sidecar_quietly(final, self._tmp, sha256, os.fstat(handle.fileno()))


def check_key(key: str) -> None:
    """Raise :class:`InvalidObjectKey` unless ``key`` is a plain relative path of safe segments.

    Refused: empty, over 1024 UTF-8 bytes, NUL and other control characters, backslashes,
    absolute paths, empty segments, and segments starting with a dot (``.``, ``..`` and the
    store's own names).
    """
    try:
        encoded = key.encode()
    except UnicodeEncodeError as exc:
        raise InvalidObjectKey("key is not valid Unicode") from exc
    if not key or len(encoded) > MAX_KEY_BYTES or "\\" in key or key.startswith("/"):
        raise InvalidObjectKey("key is empty, too long, absolute or has a backslash")
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in key):
        raise InvalidObjectKey("key contains control characters")
    for segment in key.split("/"):
        if not segment or segment.startswith(".") or len(segment.encode()) > MAX_SEGMENT_BYTES:
            raise InvalidObjectKey("key has an empty, dot or overlong segment")


class _HashingWriter:
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


def _head(key: str, path: Path, tmp_dir: Path) -> ObjectInfo | None:
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
    _write_sidecar_quietly(path, tmp_dir, digest.hexdigest(), st)
    return digest.hexdigest()


def _sidecar_of(path: Path) -> Path:
    return path.with_name(f".{path.name}.sha256")


def _read_sidecar(path: Path, expected: _Fingerprint) -> str | None:
    try:
        sha256, inode, size, mtime_ns = _sidecar_of(path).read_text().split()
        recorded = _Fingerprint(int(inode), int(size), int(mtime_ns))
    except (OSError, ValueError):
        return None
    return sha256 if recorded == expected else None


def _write_sidecar_quietly(path: Path, tmp_dir: Path, sha256: str, st: os.stat_result) -> None:
    """Record ``sha256`` for the file ``st`` describes; a failure only costs a rehash later."""
    fp = _Fingerprint.of(st)
    temporary = tmp_dir / f"{uuid.uuid4().hex}.sidecar"
    try:
        temporary.write_text(f"{sha256} {fp.inode} {fp.size} {fp.mtime_ns}\n")
        temporary.replace(_sidecar_of(path))
    except OSError as exc:
        log.warning("could not write the sidecar of %s: %s", path.name, exc.strerror)
    finally:
        temporary.unlink(missing_ok=True)


def _scan(root: str, folder: str) -> tuple[list[ListedObject], list[str]]:
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


def _may_hold(folder: str, prefix: str | None) -> bool:
    """Whether keys under ``folder`` can start with ``prefix``."""
    if prefix is None:
        return True
    return prefix.startswith(f"{folder}/") or f"{folder}/".startswith(prefix)


def _create(path: Path) -> BinaryIO:
    return path.open("xb")


def _open_at(path: Path, start: int) -> BinaryIO:
    try:
        handle = path.open("rb")
    except _ABSENT as exc:
        raise FileNotFoundError(f"no object at {path.name}") from exc
    handle.seek(start)
    return handle


def _remove(paths: Iterable[Path]) -> None:
    for path in paths:
        with contextlib.suppress(*_ABSENT):
            path.unlink()


def _make_dirs(directory: Path) -> list[Path]:
    """Create ``directory`` and missing parents; return the parents whose entries changed."""
    missing: list[Path] = []
    while not directory.exists():
        missing.append(directory)
        directory = directory.parent
    for path in reversed(missing):
        path.mkdir(exist_ok=True)
    return [path.parent for path in missing]


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _already_uploaded() -> FilegateError:
    return FilegateError(ErrorCode.ALREADY_UPLOADED, "An object already exists under this key.")


def _unbound() -> FilegateError:
    return FilegateError(ErrorCode.SIGNATURE_MISMATCH, "The URL lacks a bound field.")


def _length_mismatch(detail: str) -> FilegateError:
    return FilegateError(ErrorCode.LENGTH_MISMATCH, detail)


@contextlib.contextmanager
def _disk_errors() -> Iterator[None]:
    """Let absence through; turn other OS failures (disk full, I/O error) into 503s."""
    try:
        yield
    except (*_ABSENT, FileExistsError):
        raise
    except OSError as exc:
        raise BackendUnavailable(f"local store: {exc.strerror or type(exc).__name__}") from exc
