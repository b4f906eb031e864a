"""The local object store: objects are files under one folder, written through signed PUTs.

Layout under ``root``::

    <key>                  the object; keys are relative paths whose segments never start
                           with a dot, so the store's own files below can never collide
    <dir>/.<name>.sha256   sidecar, only where the filesystem refuses extended attributes
    .tmp/                  uploads in progress (same filesystem, so publishing is a link)

An object's SHA-256 is recorded with it (:mod:`~filegate.adapters.local.metadata`): as an
attribute of its inode, set before the bytes are fsynced, so the record appears with the
object; else in a sidecar that is only a cache. Publishing is ``os.link(temporary,
final)``: atomic, and it fails when the key exists, so a key is written once and its
winner is known (:mod:`~filegate.adapters.local.uploading` says what is durable when).
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import uuid
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from anyio import to_thread

from filegate.adapters.local.disk import (
    create_exclusive,
    disk_errors,
    fsync_dir,
    make_dirs,
    may_hold,
    open_at,
    remove_all,
    scan_folder,
)
from filegate.adapters.local.metadata import (
    object_info,
    record_on_inode,
    sidecar_of,
    write_sidecar_quietly,
)
from filegate.adapters.local.uploading import TemporaryObject, finish, receive
from filegate.adapters.local.url_signing import UrlGrant, UrlSigner, escape_path, query_string
from filegate.domain.errors import ErrorCode, FilegateError
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

TEMP_DIR = ".tmp"
MAX_KEY_BYTES = 1024
MAX_SEGMENT_BYTES = 200


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
        if _free_of_links(self._root, key):
            return Path(self._root, key)  # already its own real path, inside root
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
        self,
        key: str,
        filename: str,
        content_type: str,
        expires_in: timedelta,
        *,
        inline: bool = False,
    ) -> SignedRequest:
        """A GET serving the object as ``content_type``, attached (or ``inline``) as the
        sanitised ``filename``."""
        check_key(key)
        expires_at = self._expiry(expires_in)
        name = sanitize_filename(filename)
        grant = UrlGrant("GET", key, expires_at, content_type, filename=name, inline=inline)
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
        return DownloadTerms(grant.content_type, grant.filename, grant.expires_at, grant.inline)

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
        query = query_string(self._signer.sign(grant))
        return f"{self._public_url}/store/{escape_path(grant.key)}?{query}"

    # -- reading and removing ------------------------------------------------------------

    async def head(self, key: str) -> ObjectInfo | None:
        """Size and ETag (the SHA-256 hex of the bytes), or ``None`` when absent."""
        path = self.path_of(key)
        with disk_errors():
            return await to_thread.run_sync(object_info, key, path, self._tmp)

    async def exists(self, key: str) -> bool:
        """Whether an object is stored under ``key`` (cheaper than :meth:`head`).

        Runs on the loop: a lookup of cached folder entries costs microseconds, a thread
        hand-off milliseconds on a busy machine, and every upload asks this first.
        """
        return self.path_of(key).is_file()

    def read(self, key: str, chunk_size: int = 1 << 20) -> AsyncIterator[bytes]:
        """Stream the object; raises ``FileNotFoundError`` when it does not exist."""
        return self.read_range(key, 0, None, chunk_size)

    async def read_range(
        self, key: str, start: int, stop: int | None, chunk_size: int = 1 << 20
    ) -> AsyncIterator[bytes]:
        """Stream bytes ``[start, stop)`` of the object (``stop`` ``None``: to the end)."""
        path = self.path_of(key)
        with disk_errors():
            handle = await to_thread.run_sync(open_at, path, start)
        try:
            remaining = None if stop is None else stop - start
            while remaining is None or remaining > 0:
                wanted = chunk_size if remaining is None else min(chunk_size, remaining)
                with disk_errors():
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
        with disk_errors():
            await to_thread.run_sync(remove_all, [path, sidecar_of(path)])

    async def list_objects(self, prefix: str | None = None) -> AsyncIterator[ListedObject]:
        """Every object (key starting with ``prefix``), one folder at a time off the loop.

        Uploads in progress (``.tmp/``) and sidecars are not objects: nothing whose name
        starts with a dot is. Modification times are the files' (UTC).
        """
        pending = [""]
        while pending:
            folder = pending.pop()
            with disk_errors():
                listed, subfolders = await to_thread.run_sync(scan_folder, self._root, folder)
            pending.extend(f for f in subfolders if may_hold(f, prefix))
            for item in listed:
                if prefix is None or item.key.startswith(prefix):
                    yield item

    # -- writing -------------------------------------------------------------------------

    async def put(self, key: str, path: Path, content_type: str) -> None:
        """Store a server-made object (a rendition) from the file at ``path``, replacing any
        object under ``key``; whole or not at all.

        The bytes are copied into ``.tmp/``, fsynced and renamed over the key, so a reader
        sees the old object or the new one, never a part. The content type is not kept
        here: the signed download URL carries it. Same key rules as uploads.
        """
        final = self.path_of(key)
        temporary = self._tmp / f"{uuid.uuid4().hex}.put"
        try:
            with disk_errors():
                await to_thread.run_sync(self._put_file, path, temporary, final)
        finally:
            temporary.unlink(missing_ok=True)

    def _put_file(self, source: Path, temporary: Path, final: Path) -> None:
        digest = hashlib.sha256()
        with source.open("rb") as reader, create_exclusive(temporary) as writer:
            while block := reader.read(1 << 20):
                digest.update(block)
                writer.write(block)
            writer.flush()
            recorded = record_on_inode(writer.fileno(), digest.hexdigest())
            os.fsync(writer.fileno())
            created = make_dirs(final.parent)
            temporary.replace(final)
            for directory in [final.parent, *created]:
                fsync_dir(directory)
            if not recorded:
                st = os.fstat(writer.fileno())
                write_sidecar_quietly(final, self._tmp, digest.hexdigest(), st)

    async def write_upload(
        self, key: str, body: AsyncIterator[bytes], spec: UploadSpec
    ) -> WrittenObject:
        """Stream ``body`` into the object ``key`` if it is exactly what ``spec`` declares.

        Raises ``FilegateError``: ``LENGTH_MISMATCH`` as soon as more than ``spec.size``
        bytes arrive, or when the body ends short; ``CHECKSUM_MISMATCH`` when the SHA-256
        differs from ``spec.sha256``; ``ALREADY_UPLOADED`` when the key exists. Nothing is
        published unless all holds; the temporary file is removed in every case.
        """
        check_key(key)
        temporary = TemporaryObject(self._tmp / f"{uuid.uuid4().hex}.part")
        try:
            with disk_errors():
                last = await receive(body, spec, temporary)
                sha256 = await to_thread.run_sync(self._finish, key, temporary, last, spec)
        finally:
            # Synchronous on purpose: an await here could be cancelled (client gone).
            temporary.discard()
        return WrittenObject(ObjectInfo(key, spec.size, sha256), sha256)

    def _finish(
        self, key: str, temporary: TemporaryObject, last: list[bytes], spec: UploadSpec
    ) -> str:
        return finish(temporary, last, spec, self.path_of(key))


_CONTROL_CHARACTER = re.compile("[\x00-\x1f\x7f]")


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
    if _CONTROL_CHARACTER.search(key):
        raise InvalidObjectKey("key contains control characters")
    for segment in key.split("/"):
        if not segment or segment.startswith(".") or len(segment.encode()) > MAX_SEGMENT_BYTES:
            raise InvalidObjectKey("key has an empty, dot or overlong segment")


def _free_of_links(root: str, key: str) -> bool:
    """Whether no existing component of ``key`` below ``root`` (a real path) is a symbolic
    link: then root joined with key is a real path. Costs one ``lstat`` per existing
    component, where ``realpath`` would also walk every folder above root."""
    path = root
    for segment in key.split("/"):
        path = f"{path}/{segment}"
        try:
            mode = os.lstat(path).st_mode
        except (FileNotFoundError, NotADirectoryError):
            return True  # nothing exists below a missing component
        if stat.S_ISLNK(mode):
            return False
    return True


def _unbound() -> FilegateError:
    return FilegateError(ErrorCode.SIGNATURE_MISMATCH, "The URL lacks a bound field.")
