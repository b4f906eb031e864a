"""The SQS client as filegate uses it: the calls (as Protocols), how to open one, how its
errors read, and the two look-ups every SQS helper needs (queue URL, redrive policy).

Transient trouble (throttling, 5xx answers, timeouts, refused or dropped connections)
becomes :class:`BackendUnavailable`; everything else stays a botocore ``ClientError``.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Awaitable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, TypeVar

from aiobotocore.config import AioConfig
from aiobotocore.session import AioSession, get_session
from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError

from filegate.adapters.sqs.url import SqsLocation
from filegate.domain.errors import BackendUnavailable

if TYPE_CHECKING:
    from typing import Unpack

    from aiobotocore.session import ClientCreatorContext
    from types_aiobotocore_sqs.client import SQSClient
    from types_aiobotocore_sqs.type_defs import (
        ChangeMessageVisibilityBatchRequestTypeDef,
        ChangeMessageVisibilityBatchResultTypeDef,
        DeleteMessageBatchRequestTypeDef,
        DeleteMessageBatchResultTypeDef,
        DeleteMessageRequestTypeDef,
        EmptyResponseMetadataTypeDef,
        GetQueueAttributesRequestTypeDef,
        GetQueueAttributesResultTypeDef,
        GetQueueUrlRequestTypeDef,
        GetQueueUrlResultTypeDef,
        ReceiveMessageRequestTypeDef,
        ReceiveMessageResultTypeDef,
        SendMessageBatchRequestTypeDef,
        SendMessageBatchResultTypeDef,
        SendMessageRequestTypeDef,
        SendMessageResultTypeDef,
    )

log = logging.getLogger(__name__)

LONG_POLL_SECONDS = 20
"""The longest wait SQS grants a ReceiveMessage."""

DEFAULT_CLIENT_CONFIG = AioConfig(
    retries={"mode": "standard", "max_attempts": 3},
    connect_timeout=5,
    read_timeout=LONG_POLL_SECONDS + 10,  # a long poll holds the response for up to 20 s
)

_STALE_RECEIPT_CODES = frozenset({"ReceiptHandleIsInvalid", "MessageNotInflight"})

_SQS_PREFIX = "AWS.SimpleQueueService."
_MISSING_QUEUE = frozenset({"NonExistentQueue", "QueueDoesNotExist"})
_TRANSIENT = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "RequestThrottled",
        "KmsThrottled",
        "ServiceUnavailable",
        "InternalError",
        "InternalFailure",
        "RequestTimeout",
        "OverLimit",  # too many messages in flight: passes as consumers delete
    }
)

_T = TypeVar("_T")


class QueueLookup(Protocol):
    """The read-only calls that find a queue and its settings."""

    async def get_queue_url(
        self, **kwargs: Unpack[GetQueueUrlRequestTypeDef]
    ) -> GetQueueUrlResultTypeDef: ...

    async def get_queue_attributes(
        self, **kwargs: Unpack[GetQueueAttributesRequestTypeDef]
    ) -> GetQueueAttributesResultTypeDef: ...


class SqsClient(QueueLookup, Protocol):
    """The SQS calls the queue adapter makes. aiobotocore's client has them; tests wrap it."""

    async def send_message(
        self, **kwargs: Unpack[SendMessageRequestTypeDef]
    ) -> SendMessageResultTypeDef: ...

    async def send_message_batch(
        self, **kwargs: Unpack[SendMessageBatchRequestTypeDef]
    ) -> SendMessageBatchResultTypeDef: ...

    async def receive_message(
        self, **kwargs: Unpack[ReceiveMessageRequestTypeDef]
    ) -> ReceiveMessageResultTypeDef: ...

    async def delete_message(
        self, **kwargs: Unpack[DeleteMessageRequestTypeDef]
    ) -> EmptyResponseMetadataTypeDef: ...

    async def delete_message_batch(
        self, **kwargs: Unpack[DeleteMessageBatchRequestTypeDef]
    ) -> DeleteMessageBatchResultTypeDef: ...

    async def change_message_visibility_batch(
        self, **kwargs: Unpack[ChangeMessageVisibilityBatchRequestTypeDef]
    ) -> ChangeMessageVisibilityBatchResultTypeDef: ...


class QueueNotFound(LookupError):
    """The named SQS queue does not exist (``filegate setup`` creates it)."""


def sqs_client(
    location: SqsLocation, session: AioSession | None = None, config: AioConfig | None = None
) -> ClientCreatorContext[SQSClient]:
    """An aiobotocore SQS client for ``location``, to use as ``async with``.

    Credentials come from the standard AWS chain (environment, profile, instance role).
    """
    return (session or get_session()).create_client(
        "sqs",
        region_name=location.region,
        endpoint_url=location.endpoint_url,
        config=config or DEFAULT_CLIENT_CONFIG,
    )


async def aws(call: Awaitable[_T]) -> _T:
    """Await an SQS call, turning trouble that may pass into ``BackendUnavailable``."""
    with translate_sqs_errors():
        return await call


@contextlib.contextmanager
def translate_sqs_errors() -> Iterator[None]:
    """Throttling, 5xx, timeouts and connection failures → ``BackendUnavailable``."""
    try:
        yield
    except ClientError as exc:
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        if status >= 500 or error_codes(exc) & _TRANSIENT:
            raise BackendUnavailable(f"SQS unavailable: {_describe(exc)}") from exc
        raise
    except (BotoConnectionError, HTTPClientError) as exc:
        raise BackendUnavailable(f"SQS unreachable: {type(exc).__name__}") from exc


@contextlib.contextmanager
def tolerating_stale_receipt() -> Iterator[None]:
    """Swallow the error SQS gives for a receipt that is no longer current."""
    try:
        yield
    except ClientError as exc:
        message = str(exc.response.get("Error", {}).get("Message", ""))
        if not any(is_stale_receipt(code, message) for code in error_codes(exc)):
            raise


def is_stale_receipt(code: str, message: str) -> bool:
    """Whether SQS refused a receipt because it is no longer current: the message was
    deleted, received again, or is visible again. Not an error for filegate.

    Besides ``ReceiptHandleIsInvalid`` and ``MessageNotInflight``, AWS answers
    ``InvalidParameterValue`` ("Value ... for parameter ReceiptHandle is invalid. Reason:
    Message does not exist or is not available for visibility timeout change").
    """
    code = short_code(code)
    if code in _STALE_RECEIPT_CODES:
        return True
    return code == "InvalidParameterValue" and "ReceiptHandle" in message


def error_codes(exc: ClientError) -> set[str]:
    """The error's codes, without SQS's ``AWS.SimpleQueueService.`` prefix.

    SQS's JSON protocol answers both a code and the older query-protocol code; either may
    be the well-known one (``AWS.SimpleQueueService.NonExistentQueue``/``QueueDoesNotExist``).
    """
    error = exc.response.get("Error", {})
    raw = {error.get("Code", ""), str(error.get("QueryErrorCode", ""))}
    return {short_code(code) for code in raw if code}


def short_code(code: str) -> str:
    return code.removeprefix(_SQS_PREFIX)


def _describe(exc: ClientError) -> str:
    error = exc.response.get("Error", {})
    return f"{error.get('Code', '?')}: {error.get('Message', '')}"[:200]


@dataclass(frozen=True)
class RedrivePolicy:
    """A queue's RedrivePolicy: where its dead messages go, after how many receives."""

    dead_letter_arn: str
    max_receives: int

    @property
    def dead_letter_name(self) -> str:
        """The queue name: the last field of ``arn:aws:sqs:region:account:name``."""
        return self.dead_letter_arn.rsplit(":", 1)[-1]


async def queue_url_of(client: QueueLookup, name: str) -> str:
    """GetQueueUrl; raises :class:`QueueNotFound` when there is no such queue."""
    try:
        response = await aws(client.get_queue_url(QueueName=name))
    except ClientError as exc:
        if error_codes(exc) & _MISSING_QUEUE:
            raise QueueNotFound(f"SQS queue {name!r} does not exist") from exc
        raise
    return response["QueueUrl"]


async def redrive_policy_of(client: QueueLookup, queue_url: str) -> RedrivePolicy | None:
    """The queue's RedrivePolicy, or ``None`` when it has none (or an unreadable one)."""
    response = await aws(
        client.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["RedrivePolicy"])
    )
    return parse_redrive_policy(response.get("Attributes", {}).get("RedrivePolicy"))


def parse_redrive_policy(text: str | None) -> RedrivePolicy | None:
    """A RedrivePolicy attribute's JSON, or ``None`` when absent or unreadable."""
    if not text:
        return None
    try:
        policy = json.loads(text)
        return RedrivePolicy(str(policy["deadLetterTargetArn"]), int(policy["maxReceiveCount"]))
    except (ValueError, KeyError, TypeError):
        log.warning("unreadable RedrivePolicy: %r", text)
        return None
