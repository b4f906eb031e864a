"""The Lambda handler: SQS events in, the exact ``batchItemFailures`` out.

Events are built with factories from messages really sent to and received from a queue on
moto's server (as Lambda's poller would), so receipts are real: dead messages land in the
real dead-letter queue and retried messages really change visibility.
"""

from __future__ import annotations

import asyncio
import functools
import json
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from standardwebhooks import Webhook

from filegate.adapters.sqs.client import SqsClient, sqs_client
from filegate.adapters.sqs.queue import SqsTuning, connect_sqs_queue
from filegate.adapters.sqs.url import SqsLocation
from filegate.aws_lambda import open_lambda_worker, open_webhook_lambda_worker
from filegate.bootstrap.runtime import ConfigurationError
from filegate.config import Settings, WebhookEndpointSettings
from filegate.domain.deliveries import Delivery, encode_delivery
from filegate.domain.errors import BackendUnavailable, PoisonMessage
from filegate.domain.events import Event, EventType, make_event
from filegate.domain.messages import encode_object_created
from filegate.domain.models import Message, ObjectCreated
from filegate.worker.aws_lambda import (
    LambdaHandler,
    LambdaWorker,
    UnnamedFailure,
    make_handler,
    message_from_record,
)
from filegate.worker.batch import BatchProcessor
from filegate.worker.retry import RetryPolicy
from tests.support.moto_server import REGION, aio_session
from tests.support.sqs_faults import Raising, client_error
from tests.support.webhook_receiver import Answer, Request, running_receiver

VISIBILITY_SECONDS = 30
RETRY = RetryPolicy(base=timedelta(seconds=10), cap=timedelta(seconds=100))
RIGHT_AWAY = RetryPolicy(base=timedelta(0), cap=timedelta(0))
TUNING = SqsTuning(dead_letter_wait=timedelta(0))


class ScriptedHandler:
    """An EventHandler that succeeds, except for keys scripted to raise; it records the
    keys it handled and the event loops it ran on."""

    def __init__(self, script: dict[str, type[Exception]] | None = None) -> None:
        self.script = script or {}
        self.handled: list[str] = []
        self.loops: set[int] = set()

    async def handle(self, event: ObjectCreated) -> None:
        self.handled.append(event.key)
        self.loops.add(id(asyncio.get_running_loop()))
        failure = self.script.get(event.key)
        if failure is not None:
            raise failure(f"scripted failure for {event.key}")


def body_for(key: str) -> str:
    return encode_object_created(ObjectCreated(key, 1, "etag"))


def sqs_record(
    message_id: str, body: str, receipt: str = "", receive_count: int = 1
) -> dict[str, Any]:
    """One record of an SQS event, as Lambda delivers it."""
    return {
        "messageId": message_id,
        "receiptHandle": receipt or f"receipt-{message_id}",
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": str(receive_count),
            "SentTimestamp": "1767225600000",
            "SenderId": "AIDAEXAMPLE",
            "ApproximateFirstReceiveTimestamp": "1767225600001",
        },
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": f"arn:aws:sqs:{REGION}:123456789012:events",
        "awsRegion": REGION,
    }


def sqs_event(*records: dict[str, Any]) -> dict[str, Any]:
    return {"Records": list(records)}


@dataclass
class Queues:
    """A queue and its DLQ on moto, with a plain botocore client to look at them."""

    location: SqsLocation
    client: Any
    url: str
    dead_letter_url: str

    def delivered(self, *bodies: str) -> list[dict[str, Any]]:
        """Send the bodies, receive them as Lambda's poller would, and return the records
        in the order given."""
        self.client.send_message_batch(
            QueueUrl=self.url,
            Entries=[{"Id": str(i), "MessageBody": b} for i, b in enumerate(bodies)],
        )
        received: list[dict[str, Any]] = []
        while len(received) < len(bodies):
            received += self.client.receive_message(
                QueueUrl=self.url,
                MaxNumberOfMessages=10,
                VisibilityTimeout=VISIBILITY_SECONDS,
                MessageSystemAttributeNames=["ApproximateReceiveCount"],
            ).get("Messages", [])
        by_body = {m["Body"]: m for m in received}
        return [
            sqs_record(
                by_body[b]["MessageId"],
                b,
                by_body[b]["ReceiptHandle"],
                int(by_body[b]["Attributes"]["ApproximateReceiveCount"]),
            )
            for b in bodies
        ]

    def dead(self) -> list[tuple[str, dict[str, str]]]:
        """Bodies and message attributes in the dead-letter queue (hidden once read)."""
        messages = self.client.receive_message(
            QueueUrl=self.dead_letter_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
        ).get("Messages", [])
        return [
            (m["Body"], {k: v["StringValue"] for k, v in m.get("MessageAttributes", {}).items()})
            for m in messages
        ]

    def visible_now(self) -> list[dict[str, Any]]:
        return list(
            self.client.receive_message(
                QueueUrl=self.url,
                MaxNumberOfMessages=10,
                MessageSystemAttributeNames=["ApproximateReceiveCount"],
            ).get("Messages", [])
        )


@functools.cache
def plain_client(endpoint: str) -> Any:
    """A synchronous botocore SQS client, one per endpoint (loading its model is slow)."""
    return botocore.session.get_session().create_client(
        "sqs", endpoint_url=endpoint, region_name=REGION
    )


@pytest.fixture
def queues(moto_endpoint: str) -> Queues:
    client = plain_client(moto_endpoint)
    name = f"lambda-{uuid.uuid4().hex[:12]}"
    dead_letter_url = client.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    dead_letter_arn = client.get_queue_attributes(
        QueueUrl=dead_letter_url, AttributeNames=["QueueArn"]
    )["Attributes"]["QueueArn"]
    redrive = json.dumps({"deadLetterTargetArn": dead_letter_arn, "maxReceiveCount": 5})
    url = client.create_queue(
        QueueName=name,
        Attributes={"RedrivePolicy": redrive, "VisibilityTimeout": str(VISIBILITY_SECONDS)},
    )["QueueUrl"]
    return Queues(SqsLocation(name, moto_endpoint, REGION), client, url, dead_letter_url)


Wrap = Callable[[SqsClient], SqsClient]


@pytest.fixture
def lambda_for(queues: Queues) -> Iterator[Callable[..., LambdaHandler]]:
    """Builds handlers over the queues (closed after the test); counts worker builds."""
    built: list[LambdaHandler] = []

    def build(
        events: ScriptedHandler, retry: RetryPolicy = RETRY, wrap: Wrap = lambda c: c
    ) -> LambdaHandler:
        @asynccontextmanager
        async def open_worker() -> AsyncIterator[LambdaWorker]:
            async with sqs_client(queues.location, aio_session()) as client:
                queue = await connect_sqs_queue(wrap(client), queues.location, TUNING)
                processor = BatchProcessor(events, retry, random=lambda: 0.5)
                yield LambdaWorker(processor, queue)

        handler = make_handler(open_worker)
        built.append(handler)
        return handler

    yield build
    for handler in built:
        handler.close()


def failures(response: dict[str, list[dict[str, str]]]) -> list[str]:
    assert set(response) == {"batchItemFailures"}
    return [item["itemIdentifier"] for item in response["batchItemFailures"]]


def test_a_mixed_batch_reports_exactly_the_failed_ids(
    queues: Queues, lambda_for: Callable[..., LambdaHandler]
) -> None:
    script = {"b": BackendUnavailable, "d": RuntimeError, "e": PoisonMessage}
    records = queues.delivered(*(body_for(key) for key in "abcde"))
    handler = lambda_for(ScriptedHandler(script))

    response = handler(sqs_event(*records), None)

    assert failures(response) == [records[1]["messageId"], records[3]["messageId"]]
    [(body, attributes)] = queues.dead()
    assert body == records[4]["body"]
    assert attributes["filegate-dead-reason"] == "POISON: scripted failure for e"
    assert attributes["filegate-source-message-id"] == records[4]["messageId"]


def test_a_malformed_body_goes_to_the_dead_letter_queue_and_counts_as_done(
    queues: Queues, lambda_for: Callable[..., LambdaHandler]
) -> None:
    records = queues.delivered(body_for("a"), "{not json")
    handler = lambda_for(ScriptedHandler())

    response = handler(sqs_event(*records), None)

    assert failures(response) == []
    [(body, attributes)] = queues.dead()
    assert body == "{not json"
    assert attributes["filegate-dead-reason"] == "MALFORMED: body is not JSON"


def test_duplicate_keys_in_a_batch_are_handled_once_and_both_succeed(
    lambda_for: Callable[..., LambdaHandler],
) -> None:
    events = ScriptedHandler()
    handler = lambda_for(events)
    s3_notification = sqs_record("from-s3", body_for("owner/file"))
    client_complete = sqs_record("from-api", body_for("owner/file"))

    response = handler(sqs_event(s3_notification, client_complete), None)

    assert failures(response) == []
    assert events.handled == ["owner/file"]


def test_when_every_message_fails_every_id_is_reported_in_order(
    lambda_for: Callable[..., LambdaHandler],
) -> None:
    handler = lambda_for(ScriptedHandler({"a": BackendUnavailable, "b": RuntimeError}))
    records = [sqs_record("m1", body_for("a")), sqs_record("m2", body_for("b"))]

    response = handler(sqs_event(*records), None)

    assert failures(response) == ["m1", "m2"]


def test_a_retried_message_returns_after_its_backoff_not_the_queue_timeout(
    queues: Queues, lambda_for: Callable[..., LambdaHandler]
) -> None:
    records = queues.delivered(body_for("flaky"), body_for("fine"))
    handler = lambda_for(ScriptedHandler({"flaky": BackendUnavailable}), retry=RIGHT_AWAY)

    response = handler(sqs_event(*records), None)

    assert failures(response) == [records[0]["messageId"]]
    [back] = queues.visible_now()  # not after the queue's 30 s: its backoff was zero
    assert back["MessageId"] == records[0]["messageId"]
    assert back["Attributes"]["ApproximateReceiveCount"] == "2"


def test_a_failure_without_a_message_id_fails_the_whole_batch(
    queues: Queues, lambda_for: Callable[..., LambdaHandler]
) -> None:
    handler = lambda_for(ScriptedHandler())
    nameless = sqs_record("", "{not json")

    with pytest.raises(UnnamedFailure):
        handler(sqs_event(sqs_record("m1", body_for("a")), nameless), None)

    assert queues.dead() == []  # nothing half-done: the retry will see it all again


def test_a_dead_message_that_cannot_reach_the_dlq_is_reported(
    queues: Queues, lambda_for: Callable[..., LambdaHandler]
) -> None:
    down = client_error("ServiceUnavailable", 503, "SendMessage")
    handler = lambda_for(ScriptedHandler(), wrap=lambda c: Raising(c, "SendMessage", down))

    response = handler(sqs_event(sqs_record("ok", body_for("a")), sqs_record("bad", "{")), None)

    assert failures(response) == ["bad"]
    assert queues.dead() == []


def test_the_worker_is_built_once_per_container_and_keeps_its_event_loop(
    lambda_for: Callable[..., LambdaHandler],
) -> None:
    events = ScriptedHandler()
    handler = lambda_for(events)

    for n in range(3):
        assert failures(handler(sqs_event(sqs_record(f"m{n}", body_for(f"k{n}"))), None)) == []

    assert events.handled == ["k0", "k1", "k2"]
    assert len(events.loops) == 1


def test_a_worker_that_failed_to_build_is_built_again_on_the_next_invocation() -> None:
    attempts: list[int] = []
    events = ScriptedHandler()

    @asynccontextmanager
    async def flaky_worker() -> AsyncIterator[LambdaWorker]:
        attempts.append(1)
        if len(attempts) == 1:
            raise BackendUnavailable("database not up yet")
        yield LambdaWorker(BatchProcessor(events, RETRY), _NoDeadLetters())

    handler = make_handler(flaky_worker)
    try:
        with pytest.raises(BackendUnavailable):
            handler(sqs_event(sqs_record("m1", body_for("a"))), None)
        assert failures(handler(sqs_event(sqs_record("m1", body_for("a"))), None)) == []
    finally:
        handler.close()
    assert len(attempts) == 2


def test_every_invocation_ends_with_the_workers_after_invocation_even_a_failed_one() -> None:
    ended: list[str] = []
    events = ScriptedHandler()

    @asynccontextmanager
    async def worker() -> AsyncIterator[LambdaWorker]:
        processor = BatchProcessor(events, RETRY)
        yield LambdaWorker(processor, _NoDeadLetters(), after_invocation=lambda: ended.append("x"))

    handler = make_handler(worker)
    try:
        handler(sqs_event(sqs_record("m1", body_for("a"))), None)
        with pytest.raises(ValueError, match="not an SQS event"):
            handler({"not": "sqs"}, None)
    finally:
        handler.close()
    assert ended == ["x", "x"]


class _NoDeadLetters:
    """A route for a batch that never dead-letters nor retries (it is never called)."""

    async def copy_to_dead_letter_queue(self, message: Message, reason: str) -> None:
        raise AssertionError("not expected")

    async def change_visibility_batch(self, changes: object) -> None:
        raise AssertionError("not expected")


def test_the_container_worker_comes_from_the_composition_root(
    queues: Queues, tmp_path: Path
) -> None:
    location = queues.location
    settings = Settings(
        data_dir=tmp_path,
        queue_url=f"sqs://{location.queue_name}?endpoint_url={location.endpoint_url}&region={REGION}",
    )
    handler = make_handler(lambda: open_lambda_worker(settings))
    records = queues.delivered(body_for("nobody/no-such-file"), "{not json")
    try:
        response = handler(sqs_event(*records), None)
    finally:
        handler.close()

    assert failures(response) == []  # an unknown key is acknowledged; the malformed is dead
    assert [body for body, _ in queues.dead()] == ["{not json"]


def test_the_container_worker_refuses_a_queue_that_is_not_sqs(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, queue_url="sql://events")
    handler = make_handler(lambda: open_lambda_worker(settings))
    try:
        with pytest.raises(ConfigurationError, match="sqs://"):
            handler(sqs_event(), None)
    finally:
        handler.close()


def test_an_empty_batch_reports_nothing(lambda_for: Callable[..., LambdaHandler]) -> None:
    assert lambda_for(ScriptedHandler())(sqs_event(), None) == {"batchItemFailures": []}


def test_an_event_that_is_not_from_sqs_raises(lambda_for: Callable[..., LambdaHandler]) -> None:
    with pytest.raises(ValueError, match="not an SQS event"):
        lambda_for(ScriptedHandler())({"detail-type": "Scheduled Event"}, None)


def test_a_record_becomes_a_message() -> None:
    record = sqs_record("m1", "body", receipt="r1", receive_count=4)

    assert message_from_record(record) == Message("m1", "r1", "body", 4)


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        (
            {"messageId": "m1", "attributes": {"ApproximateReceiveCount": "x"}},
            Message("m1", "", "", 1),
        ),
        ({"messageId": "m1", "body": 7, "attributes": None}, Message("m1", "", "", 1)),
        ("not a record", Message("", "", "", 1)),
    ],
)
def test_a_malformed_record_becomes_a_message_that_fails_alone_or_unnamed(
    record: object, expected: Message
) -> None:
    assert message_from_record(record) == expected


def test_the_webhook_lambda_delivers_and_reports_what_failed(
    queues: Queues, tmp_path: Path
) -> None:
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

    def fail_bad(request: Request, earlier: int) -> Answer:
        return Answer(500) if request.document["data"]["id"] == "bad" else Answer(200)

    location = queues.location
    aws = f"endpoint_url={location.endpoint_url}&region={REGION}"
    with running_receiver(fail_bad) as receiver:
        hook = WebhookEndpointSettings(name="orders", url=receiver.url, secrets=(secret,))
        settings = Settings(
            data_dir=tmp_path,
            webhooks=(hook,),
            webhook_allow_http=True,
            webhook_allow_private=True,
            webhook_queue_url=f"sqs://{location.queue_name}?{aws}",
        )
        bodies = [
            encode_delivery(Delivery.of(_event(file_id), "orders")) for file_id in ("ok", "bad")
        ]
        handler = make_handler(lambda: open_webhook_lambda_worker(settings))
        records = queues.delivered(*bodies)
        try:
            response = handler(sqs_event(*records), None)
        finally:
            handler.close()
        requests = receiver.requests

    assert failures(response) == [records[1]["messageId"]]  # retried on its schedule
    assert sorted(r.document["data"]["id"] for r in requests) == ["bad", "ok"]
    for request in requests:
        Webhook(secret).verify(request.body, request.headers)


def _event(file_id: str) -> Event:
    return make_event(
        EventType.FILE_READY,
        owner="user:alice",
        subject=file_id,
        occurred_at=datetime.now(UTC),
        data={"id": file_id},
    )


def test_the_webhook_lambda_refuses_a_delivery_queue_that_is_not_sqs(tmp_path: Path) -> None:
    hook = WebhookEndpointSettings(
        name="orders", url="https://hooks.example/in", secrets=("whsec_" + "A" * 32,)
    )
    settings = Settings(data_dir=tmp_path, webhooks=(hook,))
    handler = make_handler(lambda: open_webhook_lambda_worker(settings))
    try:
        with pytest.raises(ConfigurationError, match="sqs://"):
            handler(sqs_event(), None)
    finally:
        handler.close()
