"""The S3 object store: any S3-compatible service (AWS S3, MinIO, R2, Ceph) via aiobotocore.

Clients upload and download directly with presigned URLs; this process only reads objects
to verify them. Upload URLs put the whole contract in SigV4 *signed* headers (length,
type, SHA-256, ``If-None-Match: *``), so S3 itself refuses a different body or a second
write. Presigning uses :mod:`filegate.adapters.s3.sigv4` (no I/O, ~50,000 URLs/s).
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from aiobotocore.config import AioConfig
from aiobotocore.session import AioSession, get_session
from botocore.exceptions import ClientError

from filegate.adapters.s3.client import (
    S3ObjectCalls,
    is_missing_object,
    multipart_errors,
    s3_errors,
)
from filegate.adapters.s3.credentials import (
    DEFAULT_REFRESH_MARGIN,
    PresignerKeeper,
    session_credentials,
)
from filegate.adapters.s3.url import S3Location
from filegate.domain.errors import BackendUnavailable, ErrorCode, FilegateError
from filegate.domain.filenames import content_disposition
from filegate.domain.models import (
    ListedObject,
    MultipartUpload,
    ObjectInfo,
    PartUrl,
    SignedRequest,
    UploadedPart,
    UploadSpec,
)
from filegate.domain.ports import Clock, PartReference
from filegate.domain.renditions import is_rendition_key

if TYPE_CHECKING:
    from types_aiobotocore_s3.type_defs import (
        CompletedPartTypeDef,
        ListMultipartUploadsRequestTypeDef,
        ListObjectsV2RequestTypeDef,
    )

MAX_KEY_BYTES = 1024
MAX_PART_NUMBER = 10_000
MAX_PART_BYTES = 5 * 2**30


@dataclass(frozen=True)
class S3StoreConfig:
    """Tuning of the S3 store; the defaults suit AWS and a local MinIO alike."""

    multipart_threshold: int = 64 * 2**20
    """Declared sizes from here up should be uploaded in parts (the HTTP layer decides)."""
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    max_attempts: int = 3
    """botocore's attempts per call (standard retry mode) before a failure is reported."""
    max_pool_connections: int = 50
    credential_refresh_margin: timedelta = DEFAULT_REFRESH_MARGIN
    credential_poll_seconds: float = 60.0


@asynccontextmanager
async def open_s3_store(
    location: S3Location,
    clock: Clock,
    config: S3StoreConfig | None = None,
    session: AioSession | None = None,
) -> AsyncIterator[S3ObjectStore]:
    """An :class:`S3ObjectStore` for ``location``; closes its client (and stops the
    credential refresher) on exit. Credentials come from ``session``'s AWS chain.
    """
    config = config or S3StoreConfig()
    session = session or get_session()
    async with session.create_client(
        "s3",
        endpoint_url=location.endpoint_url,
        region_name=location.region,
        config=_client_config(location, config),
    ) as client:
        region = client.meta.region_name or "us-east-1"
        keeper = PresignerKeeper(
            session_credentials(session), region, clock, config.credential_refresh_margin
        )
        with s3_errors():
            await keeper.load()
        store = S3ObjectStore(client, location, client.meta.endpoint_url, keeper, clock, config)
        async with _refreshing(keeper, config.credential_poll_seconds):
            yield store


def _client_config(location: S3Location, config: S3StoreConfig) -> AioConfig:
    return AioConfig(
        signature_version="s3v4",
        s3={"addressing_style": "path" if location.path_style else "virtual"},
        retries={"mode": "standard", "max_attempts": config.max_attempts},
        connect_timeout=config.connect_timeout,
        read_timeout=config.read_timeout,
        max_pool_connections=config.max_pool_connections,
    )


@asynccontextmanager
async def _refreshing(keeper: PresignerKeeper, poll_seconds: float) -> AsyncIterator[None]:
    """Run the credential refresher while the store is open, if the credentials expire."""
    if keeper.expires_at is None:
        yield
        return
    task = asyncio.create_task(keeper.keep_fresh(poll_seconds))
    try:
        yield
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task


@dataclass(frozen=True)
class _Addressing:
    """Where a presigned URL points: ``origin`` + ``/bucket/key`` or ``bucket.`` + origin."""

    origin: str
    bucket_prefix: str

    @classmethod
    def of(cls, endpoint_url: str, location: S3Location) -> _Addressing:
        parts = urlsplit(endpoint_url)
        # A dotted bucket name in a sub-domain breaks the TLS wildcard: use the path then.
        in_path = location.path_style or (parts.scheme == "https" and "." in location.bucket)
        if in_path:
            return cls(f"{parts.scheme}://{parts.netloc}", f"/{location.bucket}/")
        return cls(f"{parts.scheme}://{location.bucket}.{parts.netloc}", "/")

    def path_of(self, object_key: str) -> str:
        return self.bucket_prefix + object_key


class S3ObjectStore:
    """``ObjectStore``, ``UploadSigner``, ``DownloadSigner``, ``MultipartUploads`` and
    ``ObjectLister`` on S3.

    Build it with :func:`open_s3_store`. Keys are stored as ``location.prefix + key``.
    """

    def __init__(
        self,
        client: S3ObjectCalls,
        location: S3Location,
        endpoint_url: str,
        presigners: PresignerKeeper,
        clock: Clock,
        config: S3StoreConfig,
    ) -> None:
        """Prefer :func:`open_s3_store`; ``endpoint_url`` is the client's resolved endpoint."""
        self._client = client
        self._bucket = location.bucket
        self._prefix = location.prefix
        self._addressing = _Addressing.of(endpoint_url, location)
        self._presigners = presigners
        self._clock = clock
        self._config = config

    @property
    def multipart_threshold(self) -> int:
        """Declared sizes from which uploads should go in parts."""
        return self._config.multipart_threshold

    # -- signing -------------------------------------------------------------------------

    def sign_upload(self, key: str, spec: UploadSpec, expires_in: timedelta) -> SignedRequest:
        """A PUT bound to key, exact length, content type, SHA-256 (when given) and expiry.

        All of ``headers`` are signed, so S3 refuses a request that changes or omits one;
        ``If-None-Match: *`` makes S3 refuse to overwrite an existing object.
        """
        headers = {
            "Content-Type": spec.content_type,
            "Content-Length": str(spec.size),
            "If-None-Match": "*",
        }
        if spec.sha256 is not None:
            headers["x-amz-checksum-sha256"] = sha256_header(spec.sha256)
        return self._presign("PUT", key, {}, headers, expires_in)

    def sign_download(
        self,
        key: str,
        filename: str,
        content_type: str,
        expires_in: timedelta,
        *,
        inline: bool = False,
    ) -> SignedRequest:
        """A GET that S3 answers with ``content_type``, attached (or ``inline``) as the
        sanitised ``filename``."""
        query = {
            "response-content-disposition": content_disposition(filename, inline=inline),
            "response-content-type": content_type,
        }
        return self._presign("GET", key, query, {}, expires_in)

    def _presign(
        self,
        method: str,
        key: str,
        query: Mapping[str, str],
        headers: Mapping[str, str],
        expires_in: timedelta,
    ) -> SignedRequest:
        now = self._clock.now().astimezone(UTC).replace(microsecond=0)
        seconds = int(expires_in.total_seconds())
        path = self._addressing.path_of(self._object_key(key))
        url = self._presigners.current().presign(
            method, self._addressing.origin, path, query, headers, seconds, now=now
        )
        return SignedRequest(method, url, dict(headers), now + timedelta(seconds=seconds))

    # -- reading and removing ------------------------------------------------------------

    async def head(self, key: str) -> ObjectInfo | None:
        """Size and ETag (S3's, without quotes), or ``None`` when there is no such object."""
        try:
            with s3_errors():
                response = await self._client.head_object(
                    Bucket=self._bucket, Key=self._object_key(key)
                )
        except ClientError as exc:
            if is_missing_object(exc):
                return None
            raise
        return ObjectInfo(key, response["ContentLength"], _unquoted(response["ETag"]))

    async def read(self, key: str, chunk_size: int = 1 << 20) -> AsyncIterator[bytes]:
        """Stream the object in chunks of at most ``chunk_size`` bytes.

        Raises ``FileNotFoundError`` when it does not exist, ``BackendUnavailable`` when
        the store fails, also midway.
        """
        try:
            with s3_errors():
                response = await self._client.get_object(
                    Bucket=self._bucket, Key=self._object_key(key)
                )
        except ClientError as exc:
            if is_missing_object(exc):
                raise FileNotFoundError(key) from exc
            raise
        async with response["Body"] as body:
            with s3_errors():
                async for chunk in body.iter_chunks(chunk_size):
                    yield chunk

    async def put(self, key: str, path: Path, content_type: str) -> None:
        """Store a server-made object (a rendition) from the file at ``path`` as
        ``content_type``, replacing any object under ``key``.

        One PutObject with the whole body and its length: S3 stores all of it or nothing.
        Renditions are small, so the body is read into memory first.
        """
        body = await asyncio.to_thread(path.read_bytes)
        with s3_errors():
            await self._client.put_object(
                Bucket=self._bucket,
                Key=self._object_key(key),
                Body=body,
                ContentLength=len(body),
                ContentType=content_type,
            )

    async def delete(self, key: str) -> None:
        """Remove the object; S3 answers a missing key as a success, and so do we."""
        with s3_errors():
            await self._client.delete_object(Bucket=self._bucket, Key=self._object_key(key))

    # -- multipart -----------------------------------------------------------------------

    async def start_multipart(self, key: str, spec: UploadSpec) -> MultipartUpload:
        """Begin an upload of ``key`` stored as ``spec.content_type``.

        No S3 checksum algorithm is requested: several S3-compatible stores then demand a
        checksum header on every part, which part URLs signed ahead of the bytes cannot
        carry. The worker verifies the whole object's SHA-256 after completion instead.
        """
        with s3_errors():
            response = await self._client.create_multipart_upload(
                Bucket=self._bucket, Key=self._object_key(key), ContentType=spec.content_type
            )
        return MultipartUpload(key, response["UploadId"])

    def sign_parts(
        self,
        upload: MultipartUpload,
        part_numbers: Sequence[int],
        part_size: int,
        expires_in: timedelta,
    ) -> list[PartUrl]:
        """One signed PUT per part number, each bound to exactly ``part_size`` bytes.

        For a last, shorter part, ask separately with its own size. Raises ``ValueError``
        for a part number outside 1..10,000 or a size outside 1 B..5 GiB.
        """
        if not 1 <= part_size <= MAX_PART_BYTES:
            raise ValueError(f"part_size must be 1..{MAX_PART_BYTES} bytes")
        headers = {"Content-Length": str(part_size)}
        urls = []
        for number in part_numbers:
            if not 1 <= number <= MAX_PART_NUMBER:
                raise ValueError(f"part numbers are 1..{MAX_PART_NUMBER}, not {number}")
            query = {"uploadId": upload.upload_id, "partNumber": str(number)}
            signed = self._presign("PUT", upload.key, query, headers, expires_in)
            urls.append(PartUrl(number, signed.url, signed.headers, signed.expires_at))
        return urls

    async def list_parts(self, upload: MultipartUpload) -> list[UploadedPart]:
        """The parts S3 holds so far, by number; ``FilegateError(NOT_FOUND)`` if none such."""
        parts: list[UploadedPart] = []
        marker = 0
        while True:
            with multipart_errors():
                page = await self._client.list_parts(
                    Bucket=self._bucket,
                    Key=self._object_key(upload.key),
                    UploadId=upload.upload_id,
                    PartNumberMarker=marker,
                )
            parts += [
                UploadedPart(part["PartNumber"], _unquoted(part["ETag"]), part["Size"])
                for part in page.get("Parts", [])
            ]
            if not page.get("IsTruncated"):
                return parts
            marker = page["NextPartNumberMarker"]

    async def complete_multipart(
        self, upload: MultipartUpload, parts: Sequence[PartReference]
    ) -> ObjectInfo:
        """Assemble ``parts`` into the object, unless an object already has this key.

        Raises ``FilegateError``: ``UPLOAD_INCOMPLETE`` (a part missing, an ETag that
        differs, a part other than the last under 5 MiB), ``ALREADY_UPLOADED`` (the object
        exists: completion is conditional, ``If-None-Match: *``), ``NOT_FOUND`` (no such
        upload: aborted or completed).
        """
        listed: list[CompletedPartTypeDef] = [
            {"PartNumber": part.number, "ETag": _quoted(part.etag)}
            for part in sorted(parts, key=lambda part: part.number)
        ]
        with multipart_errors():
            await self._client.complete_multipart_upload(
                Bucket=self._bucket,
                Key=self._object_key(upload.key),
                UploadId=upload.upload_id,
                MultipartUpload={"Parts": listed},
                IfNoneMatch="*",
            )
        info = await self.head(upload.key)
        if info is None:
            raise BackendUnavailable("The completed object is not visible yet.")
        return info

    async def abort_multipart(self, upload: MultipartUpload) -> None:
        """Discard the upload and its parts; an unknown upload is already gone."""
        try:
            with multipart_errors():
                await self._client.abort_multipart_upload(
                    Bucket=self._bucket,
                    Key=self._object_key(upload.key),
                    UploadId=upload.upload_id,
                )
        except FilegateError as exc:
            if exc.code is not ErrorCode.NOT_FOUND:
                raise

    async def stale_multipart_uploads(self, older_than: datetime) -> list[MultipartUpload]:
        """Uploads under this store's prefix begun before ``older_than``, never completed."""
        stale: list[MultipartUpload] = []
        request: ListMultipartUploadsRequestTypeDef = {"Bucket": self._bucket}
        if self._prefix:
            request["Prefix"] = self._prefix
        while True:
            with s3_errors():
                page = await self._client.list_multipart_uploads(**request)
            stale += [
                MultipartUpload(upload["Key"][len(self._prefix) :], upload["UploadId"])
                for upload in page.get("Uploads", [])
                if upload["Initiated"] < older_than
            ]
            if not page.get("IsTruncated"):
                return stale
            request["KeyMarker"] = page["NextKeyMarker"]
            request["UploadIdMarker"] = page["NextUploadIdMarker"]

    # -- listing -------------------------------------------------------------------------

    async def list_objects(self, prefix: str | None = None) -> AsyncIterator[ListedObject]:
        """Every object under this store's prefix (``ObjectLister``), a page at a time."""
        request: ListObjectsV2RequestTypeDef = {"Bucket": self._bucket}
        if full_prefix := self._prefix + (prefix or ""):
            request["Prefix"] = full_prefix
        while True:
            with s3_errors():
                page = await self._client.list_objects_v2(**request)
            for item in page.get("Contents", []):
                key = item["Key"][len(self._prefix) :]
                if key:
                    yield ListedObject(key, item["Size"], item["LastModified"].astimezone(UTC))
            if not page.get("IsTruncated"):
                return
            request["ContinuationToken"] = page["NextContinuationToken"]

    # -- keys ----------------------------------------------------------------------------

    def key_of_event(self, event_key: str) -> str | None:
        """filegate's key for an S3 event's object key: the prefix removed (``EventKeys``).

        ``None`` for a key outside the prefix, and for a rendition's key: renditions are
        written by filegate itself and must never be verified as uploads. (S3 notification
        filters can only include by prefix and suffix, not exclude, so this is where they
        are dropped.)
        """
        if not event_key.startswith(self._prefix) or len(event_key) == len(self._prefix):
            return None
        key = event_key[len(self._prefix) :]
        return None if is_rendition_key(key) else key

    def _object_key(self, key: str) -> str:
        """``prefix + key``; ``ValueError`` for a key the core would never make."""
        if not key or key.startswith("/") or any(ord(ch) < 0x20 for ch in key):
            raise ValueError("an object key is a non-empty relative path without controls")
        if any(segment in (".", "..") for segment in key.split("/")):
            raise ValueError("an object key has no '.' or '..' segments")
        full = self._prefix + key
        if len(full.encode()) > MAX_KEY_BYTES:
            raise ValueError(f"object keys are at most {MAX_KEY_BYTES} UTF-8 bytes")
        return full


def sha256_header(sha256_hex: str) -> str:
    """The ``x-amz-checksum-sha256`` value: base64 of the 32-byte digest given in hex."""
    digest = bytes.fromhex(sha256_hex)
    if len(digest) != 32:
        raise ValueError("a SHA-256 digest is 32 bytes (64 hex digits)")
    return base64.b64encode(digest).decode()


def _unquoted(etag: str) -> str:
    return etag.strip('"')


def _quoted(etag: str) -> str:
    return f'"{_unquoted(etag)}"'
