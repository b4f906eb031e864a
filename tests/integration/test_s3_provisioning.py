"""Provisioning a bucket on moto: ``ensure_*`` are idempotent, ``check_*`` say what is wrong."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from filegate.adapters.findings import Finding
from filegate.adapters.s3.client import S3BucketCalls
from filegate.adapters.s3.provisioning import (
    check_bucket,
    check_cors,
    check_notification,
    cors_rule,
    ensure_bucket,
    ensure_cors,
    ensure_notification,
    queue_notification,
)
from tests.support.moto_server import (
    REGION,
    aio_session,
    create_bucket,
    create_queue,
    fresh_bucket_name,
    s3_client,
)

ORIGINS = ("https://app.example", "http://localhost:5173")


@pytest.fixture
async def client(moto_endpoint: str) -> AsyncIterator[S3BucketCalls]:
    async with aio_session().create_client(
        "s3", endpoint_url=moto_endpoint, region_name=REGION
    ) as s3:
        yield s3


@pytest.fixture
def bucket(moto_endpoint: str) -> str:
    return create_bucket(moto_endpoint)


@pytest.fixture
def raw(moto_endpoint: str) -> Any:
    return s3_client(moto_endpoint)


def problems(findings: list[Finding]) -> list[Finding]:
    return [finding for finding in findings if not finding.ok]


# -- bucket --------------------------------------------------------------------------------


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1", None])
async def test_ensure_bucket_creates_once(client: S3BucketCalls, region: str | None) -> None:
    name = fresh_bucket_name()

    assert await ensure_bucket(client, name, region) is True
    assert await ensure_bucket(client, name, region) is False
    assert await check_bucket(client, name) == [
        Finding(True, f"bucket {name}", "exists and is accessible")
    ]


async def test_check_bucket_reports_a_missing_bucket(client: S3BucketCalls) -> None:
    name = fresh_bucket_name()

    assert await check_bucket(client, name) == [Finding(False, f"bucket {name}", "does not exist")]


# -- CORS ----------------------------------------------------------------------------------


async def test_ensure_cors_is_idempotent_and_check_finds_everything_ok(
    client: S3BucketCalls, bucket: str
) -> None:
    assert await ensure_cors(client, bucket, ORIGINS) is True
    assert await ensure_cors(client, bucket, ORIGINS) is False

    findings = await check_cors(client, bucket, ORIGINS)

    assert problems(findings) == []
    assert {finding.what for finding in findings} == {
        f"CORS {method} from {origin}" for method in ("GET", "HEAD", "PUT") for origin in ORIGINS
    } | {f"CORS exposes ETag to {origin}" for origin in ORIGINS}


async def test_ensure_cors_keeps_other_rules_and_updates_its_own(
    client: S3BucketCalls, bucket: str, raw: Any
) -> None:
    other = {"ID": "cdn", "AllowedOrigins": ["https://cdn.example"], "AllowedMethods": ["GET"]}
    raw.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [other]})

    assert await ensure_cors(client, bucket, ORIGINS[:1]) is True
    assert await ensure_cors(client, bucket, ORIGINS) is True

    rules = raw.get_bucket_cors(Bucket=bucket)["CORSRules"]
    assert [rule.get("ID") for rule in rules] == ["filegate", "cdn"]
    assert rules[0]["AllowedOrigins"] == list(ORIGINS)
    assert problems(await check_cors(client, bucket, ORIGINS)) == []


async def test_check_cors_names_exactly_the_missing_upload_header(
    client: S3BucketCalls, bucket: str, raw: Any
) -> None:
    await ensure_cors(client, bucket, ORIGINS)
    broken = dict(cors_rule(ORIGINS))
    broken["AllowedHeaders"] = ["content-type", "content-length", "if-none-match"]
    raw.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [broken]})

    found = problems(await check_cors(client, bucket, ORIGINS))

    assert found == [
        Finding(False, f"CORS PUT from {origin}", "headers not allowed: x-amz-checksum-sha256")
        for origin in ORIGINS
    ]


async def test_check_cors_names_a_missing_method_and_an_unexposed_etag(
    client: S3BucketCalls, bucket: str, raw: Any
) -> None:
    broken = dict(cors_rule(ORIGINS))
    broken["AllowedMethods"] = ["GET", "PUT"]
    broken["ExposeHeaders"] = []
    raw.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [broken]})

    found = problems(await check_cors(client, bucket, ORIGINS[:1]))

    assert found == [
        Finding(
            False,
            "CORS HEAD from https://app.example",
            "no rule allows this method from this origin",
        ),
        Finding(
            False,
            "CORS exposes ETag to https://app.example",
            "ETag is not exposed: multipart clients need it",
        ),
    ]


async def test_check_cors_of_a_bucket_without_cors(client: S3BucketCalls, bucket: str) -> None:
    assert await check_cors(client, bucket, ORIGINS) == [
        Finding(False, "CORS", f"bucket {bucket} has no CORS configuration")
    ]


async def test_an_origin_left_out_is_reported(client: S3BucketCalls, bucket: str) -> None:
    await ensure_cors(client, bucket, ORIGINS[:1])

    found = problems(await check_cors(client, bucket, ORIGINS))

    assert {finding.what for finding in found} == {
        "CORS GET from http://localhost:5173",
        "CORS HEAD from http://localhost:5173",
        "CORS PUT from http://localhost:5173",
        "CORS exposes ETag to http://localhost:5173",
    }


# -- notifications -------------------------------------------------------------------------


async def test_ensure_notification_is_idempotent_and_checks_ok(
    client: S3BucketCalls, bucket: str, moto_endpoint: str
) -> None:
    queue_arn = create_queue(moto_endpoint)

    assert await ensure_notification(client, bucket, queue_arn, "objects/") is True
    assert await ensure_notification(client, bucket, queue_arn, "objects/") is False

    assert await check_notification(client, bucket, queue_arn, "objects/") == [
        Finding(
            True,
            f"events of bucket {bucket} to {queue_arn}",
            "ObjectCreated events under 'objects/' are sent",
        )
    ]


async def test_ensure_notification_keeps_other_notifications(
    client: S3BucketCalls, bucket: str, raw: Any, moto_endpoint: str
) -> None:
    ours, theirs = create_queue(moto_endpoint), create_queue(moto_endpoint)
    other = {"Id": "audit", "QueueArn": theirs, "Events": ["s3:ObjectRemoved:*"]}
    raw.put_bucket_notification_configuration(
        Bucket=bucket, NotificationConfiguration={"QueueConfigurations": [other]}
    )

    await ensure_notification(client, bucket, ours, "objects/")

    queues = raw.get_bucket_notification_configuration(Bucket=bucket)["QueueConfigurations"]
    assert {(queue["Id"], queue["QueueArn"]) for queue in queues} == {
        ("filegate-object-created", ours),
        ("audit", theirs),
    }


async def test_check_notification_names_a_narrower_prefix_and_other_events(
    client: S3BucketCalls, bucket: str, raw: Any, moto_endpoint: str
) -> None:
    queue_arn = create_queue(moto_endpoint)
    narrow = queue_notification(queue_arn, "objects/thumbs/")
    raw.put_bucket_notification_configuration(
        Bucket=bucket, NotificationConfiguration={"QueueConfigurations": [narrow]}
    )
    what = f"events of bucket {bucket} to {queue_arn}"

    assert await check_notification(client, bucket, queue_arn, "objects/") == [
        Finding(False, what, "only keys under 'objects/thumbs/' are sent, not all under 'objects/'")
    ]

    await ensure_notification(client, bucket, queue_arn, "objects/")
    assert problems(await check_notification(client, bucket, queue_arn, "objects/")) == []


async def test_check_notification_without_any(client: S3BucketCalls, bucket: str) -> None:
    arn = "arn:aws:sqs:us-east-1:123456789012:nowhere"

    assert await check_notification(client, bucket, arn, "") == [
        Finding(False, f"events of bucket {bucket} to {arn}", "no notification sends to this queue")
    ]
