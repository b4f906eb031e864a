"""The S3 calls filegate makes, as small Protocols, and how their failures are translated.

Only these calls are used, so a test or a logging wrapper can stand in for the aiobotocore
client (tusd's ``s3store`` does the same). The type definitions come from the
``types-aiobotocore-s3`` stubs, needed by the type checker only.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Protocol

import aiohttp
from botocore.exceptions import (
    ClientError,
    CredentialRetrievalError,
    HTTPClientError,
    IncompleteReadError,
    NoCredentialsError,
)
from botocore.exceptions import ConnectionError as BotoConnectionError

from filegate.domain.errors import BackendUnavailable, ErrorCode, FilegateError

if TYPE_CHECKING:
    from typing import Unpack

    from types_aiobotocore_s3.type_defs import (
        AbortMultipartUploadOutputTypeDef,
        AbortMultipartUploadRequestTypeDef,
        CompleteMultipartUploadOutputTypeDef,
        CompleteMultipartUploadRequestTypeDef,
        CreateBucketOutputTypeDef,
        CreateBucketRequestTypeDef,
        CreateMultipartUploadOutputTypeDef,
        CreateMultipartUploadRequestTypeDef,
        DeleteObjectOutputTypeDef,
        DeleteObjectRequestTypeDef,
        EmptyResponseMetadataTypeDef,
        GetBucketCorsOutputTypeDef,
        GetBucketCorsRequestTypeDef,
        GetBucketNotificationConfigurationRequestTypeDef,
        GetObjectOutputTypeDef,
        GetObjectRequestTypeDef,
        HeadBucketOutputTypeDef,
        HeadBucketRequestTypeDef,
        HeadObjectOutputTypeDef,
        HeadObjectRequestTypeDef,
        ListMultipartUploadsOutputTypeDef,
        ListMultipartUploadsRequestTypeDef,
        ListObjectsV2OutputTypeDef,
        ListObjectsV2RequestTypeDef,
        ListPartsOutputTypeDef,
        ListPartsRequestTypeDef,
        NotificationConfigurationResponseTypeDef,
        PutBucketCorsRequestTypeDef,
        PutBucketNotificationConfigurationRequestTypeDef,
        PutObjectOutputTypeDef,
        PutObjectRequestTypeDef,
    )


class S3ObjectCalls(Protocol):
    """What :class:`filegate.adapters.s3.store.S3ObjectStore` asks of S3."""

    async def head_object(
        self, **kwargs: Unpack[HeadObjectRequestTypeDef]
    ) -> HeadObjectOutputTypeDef: ...

    async def get_object(
        self, **kwargs: Unpack[GetObjectRequestTypeDef]
    ) -> GetObjectOutputTypeDef: ...

    async def delete_object(
        self, **kwargs: Unpack[DeleteObjectRequestTypeDef]
    ) -> DeleteObjectOutputTypeDef: ...

    async def put_object(
        self, **kwargs: Unpack[PutObjectRequestTypeDef]
    ) -> PutObjectOutputTypeDef: ...

    async def create_multipart_upload(
        self, **kwargs: Unpack[CreateMultipartUploadRequestTypeDef]
    ) -> CreateMultipartUploadOutputTypeDef: ...

    async def list_parts(
        self, **kwargs: Unpack[ListPartsRequestTypeDef]
    ) -> ListPartsOutputTypeDef: ...

    async def complete_multipart_upload(
        self, **kwargs: Unpack[CompleteMultipartUploadRequestTypeDef]
    ) -> CompleteMultipartUploadOutputTypeDef: ...

    async def abort_multipart_upload(
        self, **kwargs: Unpack[AbortMultipartUploadRequestTypeDef]
    ) -> AbortMultipartUploadOutputTypeDef: ...

    async def list_multipart_uploads(
        self, **kwargs: Unpack[ListMultipartUploadsRequestTypeDef]
    ) -> ListMultipartUploadsOutputTypeDef: ...

    async def list_objects_v2(
        self, **kwargs: Unpack[ListObjectsV2RequestTypeDef]
    ) -> ListObjectsV2OutputTypeDef: ...


class S3BucketCalls(Protocol):
    """What :mod:`filegate.adapters.s3.provisioning` asks of S3."""

    async def head_bucket(
        self, **kwargs: Unpack[HeadBucketRequestTypeDef]
    ) -> HeadBucketOutputTypeDef: ...

    async def create_bucket(
        self, **kwargs: Unpack[CreateBucketRequestTypeDef]
    ) -> CreateBucketOutputTypeDef: ...

    async def get_bucket_cors(
        self, **kwargs: Unpack[GetBucketCorsRequestTypeDef]
    ) -> GetBucketCorsOutputTypeDef: ...

    async def put_bucket_cors(
        self, **kwargs: Unpack[PutBucketCorsRequestTypeDef]
    ) -> EmptyResponseMetadataTypeDef: ...

    async def get_bucket_notification_configuration(
        self, **kwargs: Unpack[GetBucketNotificationConfigurationRequestTypeDef]
    ) -> NotificationConfigurationResponseTypeDef: ...

    async def put_bucket_notification_configuration(
        self, **kwargs: Unpack[PutBucketNotificationConfigurationRequestTypeDef]
    ) -> EmptyResponseMetadataTypeDef: ...


_THROTTLING_CODES = frozenset(
    {
        "SlowDown",
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottled",
        "RequestThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "RequestTimeout",
        "ConditionalRequestConflict",
    }
)
_TRANSPORT_ERRORS = (
    BotoConnectionError,
    ConnectionError,  # the built-in one: a reset while streaming a body
    HTTPClientError,
    IncompleteReadError,
    NoCredentialsError,
    CredentialRetrievalError,
    aiohttp.ClientError,
    TimeoutError,
)


def error_code(exc: ClientError) -> str:
    """S3's error code (``NoSuchKey``, ``SlowDown``; a bare status such as ``404`` for HEAD)."""
    return str(exc.response.get("Error", {}).get("Code", ""))


def status_of(exc: ClientError) -> int:
    """The HTTP status S3 answered with (0 when unknown)."""
    return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))


def is_transient(exc: ClientError) -> bool:
    """Whether retrying later may succeed: throttling, timeouts and 5xx answers."""
    return status_of(exc) >= 500 or status_of(exc) == 429 or error_code(exc) in _THROTTLING_CODES


@contextmanager
def s3_errors() -> Iterator[None]:
    """Translate transient S3 failures into ``BackendUnavailable`` (chained, text withheld).

    Other ``ClientError``s (missing key, access denied) pass through for the caller to
    interpret; none of their text is meant for clients.
    """
    try:
        yield
    except ClientError as exc:
        if is_transient(exc):
            raise BackendUnavailable("The object store is unavailable.") from exc
        raise
    except _TRANSPORT_ERRORS as exc:
        raise BackendUnavailable("The object store is unavailable.") from exc


_MISSING_OBJECT_CODES = frozenset({"404", "NoSuchKey", "NotFound"})
_INCOMPLETE_UPLOAD_CODES = frozenset(
    {"InvalidPart", "InvalidPartOrder", "EntityTooSmall", "MalformedXML", "InvalidRequest"}
)


def is_missing_object(exc: ClientError) -> bool:
    """Whether S3 said there is no such key (``NoSuchKey``; a bare ``404`` for HEAD)."""
    return error_code(exc) in _MISSING_OBJECT_CODES


@contextmanager
def multipart_errors() -> Iterator[None]:
    """:func:`s3_errors`, plus what multipart answers mean to the caller.

    ``FilegateError``: ``NOT_FOUND`` for an unknown upload, ``ALREADY_UPLOADED`` when a
    conditional completion finds the object, ``UPLOAD_INCOMPLETE`` for parts that do not
    make the object (missing, wrong ETag, too small, out of order).
    """
    try:
        with s3_errors():
            yield
    except ClientError as exc:
        meaning = _multipart_meaning(error_code(exc))
        if meaning is None:
            raise
        raise meaning from exc


def _multipart_meaning(code: str) -> FilegateError | None:
    if code == "NoSuchUpload":
        return FilegateError(ErrorCode.NOT_FOUND, "No such multipart upload.")
    if code == "PreconditionFailed":
        return FilegateError(ErrorCode.ALREADY_UPLOADED, "The object is already uploaded.")
    if code in _INCOMPLETE_UPLOAD_CODES:
        return FilegateError(
            ErrorCode.UPLOAD_INCOMPLETE, "The parts do not make a complete upload."
        )
    return None
