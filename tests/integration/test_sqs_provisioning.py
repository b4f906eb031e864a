"""SQS provisioning on moto's server: ``ensure_*`` converges, ``check_*`` says what is wrong."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from types_aiobotocore_sqs.client import SQSClient

from filegate.adapters.findings import Finding
from filegate.adapters.sqs.provisioning import (
    check_queue_policy,
    check_queues,
    ensure_queue_policy,
    ensure_queues,
)
from tests.support.moto_server import REGION, aio_session

VISIBILITY = timedelta(seconds=120)
BUCKET_ARN = "arn:aws:s3:::uploads-bucket"
FOURTEEN_DAYS = str(14 * 24 * 3600)


@pytest.fixture
async def client(moto_endpoint: str) -> AsyncIterator[SQSClient]:
    async with aio_session().create_client(
        "sqs", endpoint_url=moto_endpoint, region_name=REGION
    ) as client:
        yield client


@pytest.fixture
def name() -> str:
    return f"events-{uuid.uuid4().hex[:12]}"


async def attributes(client: SQSClient, url: str) -> dict[str, str]:
    response = await client.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])
    return {str(key): value for key, value in response["Attributes"].items()}


def failures(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if not f.ok]


async def test_ensure_queues_creates_the_dlq_then_the_queue_with_its_redrive_policy(
    client: SQSClient, name: str
) -> None:
    pair = await ensure_queues(client, name, VISIBILITY, max_receives=5)

    queue, dead = await attributes(client, pair.url), await attributes(client, pair.dead_letter_url)
    assert pair.dead_letter_url.endswith(f"/{name}-dlq")
    assert json.loads(queue["RedrivePolicy"]) == {
        "deadLetterTargetArn": pair.dead_letter_arn,
        "maxReceiveCount": 5,
    }
    assert (queue["VisibilityTimeout"], queue["MessageRetentionPeriod"]) == ("120", "345600")
    assert dead["MessageRetentionPeriod"] == FOURTEEN_DAYS
    assert (queue["QueueArn"], dead["QueueArn"]) == (pair.arn, pair.dead_letter_arn)


async def test_ensure_queues_twice_converges_and_updates(client: SQSClient, name: str) -> None:
    first = await ensure_queues(client, name, VISIBILITY, max_receives=5)

    again = await ensure_queues(client, name, VISIBILITY, max_receives=5)
    changed = await ensure_queues(client, name, timedelta(seconds=300), max_receives=8)

    assert first == again == changed
    queue = await attributes(client, first.url)
    assert queue["VisibilityTimeout"] == "300"
    assert json.loads(queue["RedrivePolicy"])["maxReceiveCount"] == 8


async def test_check_after_ensure_reports_everything_ok(client: SQSClient, name: str) -> None:
    await ensure_queues(client, name, VISIBILITY, max_receives=5)

    findings = await check_queues(client, name, VISIBILITY, max_receives=5)

    assert failures(findings) == []
    assert [f.what for f in findings] == [
        f"queue {name}",
        "visibility timeout",
        "redrive policy",
        f"dead-letter queue {name}-dlq",
        "dead-letter retention",
    ]


async def test_check_of_a_queue_without_redrive_says_exactly_that(
    client: SQSClient, name: str
) -> None:
    await client.create_queue(
        QueueName=f"{name}-dlq", Attributes={"MessageRetentionPeriod": FOURTEEN_DAYS}
    )
    await client.create_queue(QueueName=name)

    findings = await check_queues(client, name)

    assert failures(findings) == [
        Finding(
            False,
            "redrive policy",
            f"queue {name!r} has no RedrivePolicy: a message that keeps failing is received "
            "again and again and never reaches a dead-letter queue",
        )
    ]


async def test_check_of_a_missing_queue_says_so_and_nothing_else(
    client: SQSClient, name: str
) -> None:
    assert await check_queues(client, name) == [
        Finding(False, f"queue {name}", "does not exist (run `filegate setup`)")
    ]


async def test_check_names_the_expected_and_actual_values_that_differ(
    client: SQSClient, name: str
) -> None:
    pair = await ensure_queues(client, name, VISIBILITY, max_receives=5)
    await client.set_queue_attributes(
        QueueUrl=pair.dead_letter_url, Attributes={"MessageRetentionPeriod": "345600"}
    )

    findings = await check_queues(client, name, timedelta(seconds=30), max_receives=3)

    assert [(f.what, f.detail) for f in failures(findings)] == [
        ("visibility timeout", "VisibilityTimeout is 120 s, expected 30 s"),
        ("max receives", "maxReceiveCount is 5, expected 3"),
        ("dead-letter retention", "retention 345600 s, the queue's 345600 s (must be longer)"),
    ]


async def test_check_reports_a_missing_dead_letter_queue(client: SQSClient, name: str) -> None:
    await client.create_queue(QueueName=name)

    findings = await check_queues(client, name, dead_letter_name=f"{name}-graveyard")

    assert [f.what for f in failures(findings)] == [
        "redrive policy",
        f"dead-letter queue {name}-graveyard",
    ]


async def test_ensure_queues_refuses_a_retention_not_shorter_than_the_dlqs(
    client: SQSClient, name: str
) -> None:
    with pytest.raises(ValueError, match="shorter than the DLQ"):
        await ensure_queues(client, name, VISIBILITY, 5, retention=timedelta(days=14))

    assert await check_queues(client, name) == [
        Finding(False, f"queue {name}", "does not exist (run `filegate setup`)")
    ]


async def test_queue_policy_lets_the_bucket_send_and_is_idempotent(
    client: SQSClient, name: str
) -> None:
    pair = await ensure_queues(client, name, VISIBILITY, max_receives=5)
    before = await check_queue_policy(client, pair.url, pair.arn, BUCKET_ARN)

    await ensure_queue_policy(client, pair.url, pair.arn, BUCKET_ARN)
    await ensure_queue_policy(client, pair.url, pair.arn, BUCKET_ARN)

    assert [f.ok for f in before] == [False]
    assert [f.ok for f in await check_queue_policy(client, pair.url, pair.arn, BUCKET_ARN)] == [
        True
    ]
    other_bucket = await check_queue_policy(client, pair.url, pair.arn, "arn:aws:s3:::other")
    assert [f.ok for f in other_bucket] == [False]
    policy = json.loads((await attributes(client, pair.url))["Policy"])
    assert len(policy["Statement"]) == 1
    assert policy["Statement"][0]["Principal"] == {"Service": "s3.amazonaws.com"}


async def test_queue_policy_keeps_the_statements_of_others(client: SQSClient, name: str) -> None:
    pair = await ensure_queues(client, name, VISIBILITY, max_receives=5)
    theirs = {
        "Sid": "SomeoneElse",
        "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
        "Action": "sqs:ReceiveMessage",
        "Resource": pair.arn,
    }
    document = {"Version": "2012-10-17", "Statement": [theirs]}
    await client.set_queue_attributes(
        QueueUrl=pair.url, Attributes={"Policy": json.dumps(document)}
    )

    await ensure_queue_policy(client, pair.url, pair.arn, BUCKET_ARN)

    policy = json.loads((await attributes(client, pair.url))["Policy"])
    assert [s["Sid"] for s in policy["Statement"]] == [
        "SomeoneElse",
        "FilegateS3Eventsuploadsbucket",
    ]


async def test_check_reports_a_redrive_policy_aimed_elsewhere(client: SQSClient, name: str) -> None:
    await ensure_queues(client, name, VISIBILITY, max_receives=5)

    findings = await check_queues(client, name, dead_letter_name=f"{name}-other")

    assert [(f.what, f.detail) for f in failures(findings)] == [
        ("redrive target", f"RedrivePolicy targets '{name}-dlq', expected '{name}-other'"),
        (f"dead-letter queue {name}-other", "does not exist (run `filegate setup`)"),
    ]
