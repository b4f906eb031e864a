"""Wrappers of the ``SqsClient`` Protocol over a real (moto) client: they record what the
adapter asks for and inject the failures SQS can answer. They never stand in for SQS itself.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar, Unpack, cast

from botocore.exceptions import ClientError
from types_aiobotocore_sqs.type_defs import (
    BatchResultErrorEntryTypeDef,
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

from filegate.adapters.sqs.client import SqsClient

_Entry = TypeVar("_Entry", bound=Mapping[str, Any])


def client_error(code: str, status: int, operation: str, message: str = "injected") -> ClientError:
    """The exception botocore raises for an error answer."""
    response: Any = {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    return ClientError(response, operation)


class PassThrough:
    """Every call goes to ``inner`` unchanged; ``calls`` records each operation's arguments."""

    def __init__(self, inner: SqsClient) -> None:
        self.inner = inner
        self.calls: dict[str, list[dict[str, Any]]] = defaultdict(list)

    def _record(self, operation: str, kwargs: Mapping[str, Any]) -> None:
        self.calls[operation].append(dict(kwargs))

    async def get_queue_url(
        self, **kwargs: Unpack[GetQueueUrlRequestTypeDef]
    ) -> GetQueueUrlResultTypeDef:
        return await self.inner.get_queue_url(**kwargs)

    async def get_queue_attributes(
        self, **kwargs: Unpack[GetQueueAttributesRequestTypeDef]
    ) -> GetQueueAttributesResultTypeDef:
        return await self.inner.get_queue_attributes(**kwargs)

    async def send_message(
        self, **kwargs: Unpack[SendMessageRequestTypeDef]
    ) -> SendMessageResultTypeDef:
        self._record("SendMessage", kwargs)
        return await self.inner.send_message(**kwargs)

    async def send_message_batch(
        self, **kwargs: Unpack[SendMessageBatchRequestTypeDef]
    ) -> SendMessageBatchResultTypeDef:
        self._record("SendMessageBatch", kwargs)
        return await self.inner.send_message_batch(**kwargs)

    async def receive_message(
        self, **kwargs: Unpack[ReceiveMessageRequestTypeDef]
    ) -> ReceiveMessageResultTypeDef:
        self._record("ReceiveMessage", kwargs)
        return await self.inner.receive_message(**kwargs)

    async def delete_message(
        self, **kwargs: Unpack[DeleteMessageRequestTypeDef]
    ) -> EmptyResponseMetadataTypeDef:
        self._record("DeleteMessage", kwargs)
        return await self.inner.delete_message(**kwargs)

    async def delete_message_batch(
        self, **kwargs: Unpack[DeleteMessageBatchRequestTypeDef]
    ) -> DeleteMessageBatchResultTypeDef:
        self._record("DeleteMessageBatch", kwargs)
        return await self.inner.delete_message_batch(**kwargs)

    async def change_message_visibility_batch(
        self, **kwargs: Unpack[ChangeMessageVisibilityBatchRequestTypeDef]
    ) -> ChangeMessageVisibilityBatchResultTypeDef:
        self._record("ChangeMessageVisibilityBatch", kwargs)
        return await self.inner.change_message_visibility_batch(**kwargs)

    def entries(self, operation: str) -> list[list[dict[str, Any]]]:
        """The entries of every batch call made for ``operation``, call by call."""
        return [list(call["Entries"]) for call in self.calls[operation]]


class FailingEntries(PassThrough):
    """Batch calls answer ``Failed`` (``code``, ``sender_fault``) for the entries ``doomed``
    picks, the first ``times`` times each is sent, and pass only the others on to SQS."""

    def __init__(
        self,
        inner: SqsClient,
        doomed: Callable[[Mapping[str, Any]], bool],
        times: int = 1,
        code: str = "InternalError",
        sender_fault: bool = False,
        message: str = "injected",
    ) -> None:
        super().__init__(inner)
        self._doomed = doomed
        self._times = times
        self._failed_so_far: dict[str, int] = defaultdict(int)
        self._failure = {"SenderFault": sender_fault, "Code": code, "Message": message}

    def _split(self, entries: Sequence[_Entry]) -> tuple[list[_Entry], list[str]]:
        kept: list[_Entry] = []
        failed: list[str] = []
        for entry in entries:
            key = str(entry.get("ReceiptHandle", entry.get("MessageBody")))
            if self._doomed(entry) and self._failed_so_far[key] < self._times:
                self._failed_so_far[key] += 1
                failed.append(str(entry["Id"]))
            else:
                kept.append(entry)
        return kept, failed

    def _failed(self, ids: list[str]) -> list[BatchResultErrorEntryTypeDef]:
        return [cast(BatchResultErrorEntryTypeDef, {"Id": i, **self._failure}) for i in ids]

    async def send_message_batch(
        self, **kwargs: Unpack[SendMessageBatchRequestTypeDef]
    ) -> SendMessageBatchResultTypeDef:
        self._record("SendMessageBatch", kwargs)
        kept, failed = self._split(kwargs["Entries"])
        response = (
            await self.inner.send_message_batch(QueueUrl=kwargs["QueueUrl"], Entries=kept)
            if kept
            else _nothing_done()
        )
        response["Failed"] = [*response.get("Failed", []), *self._failed(failed)]
        return response

    async def delete_message_batch(
        self, **kwargs: Unpack[DeleteMessageBatchRequestTypeDef]
    ) -> DeleteMessageBatchResultTypeDef:
        self._record("DeleteMessageBatch", kwargs)
        kept, failed = self._split(kwargs["Entries"])
        response = (
            await self.inner.delete_message_batch(QueueUrl=kwargs["QueueUrl"], Entries=kept)
            if kept
            else _nothing_done()
        )
        response["Failed"] = [*response.get("Failed", []), *self._failed(failed)]
        return response

    async def change_message_visibility_batch(
        self, **kwargs: Unpack[ChangeMessageVisibilityBatchRequestTypeDef]
    ) -> ChangeMessageVisibilityBatchResultTypeDef:
        self._record("ChangeMessageVisibilityBatch", kwargs)
        kept, failed = self._split(kwargs["Entries"])
        response = (
            await self.inner.change_message_visibility_batch(
                QueueUrl=kwargs["QueueUrl"], Entries=kept
            )
            if kept
            else _nothing_done()
        )
        response["Failed"] = [*response.get("Failed", []), *self._failed(failed)]
        return response


class Raising(PassThrough):
    """``operation`` raises ``error`` on its first ``times`` calls, then passes through."""

    def __init__(self, inner: SqsClient, operation: str, error: Exception, times: int = 1) -> None:
        super().__init__(inner)
        self._operation = operation
        self._error = error
        self._times = times

    def _record(self, operation: str, kwargs: Mapping[str, Any]) -> None:
        super()._record(operation, kwargs)
        if operation == self._operation and len(self.calls[operation]) <= self._times:
            raise self._error


def _nothing_done() -> Any:
    """A batch answer with no entry: what SQS would say had the call sent none."""
    return {"Successful": [], "Failed": [], "ResponseMetadata": {"RequestId": uuid.uuid4().hex}}
