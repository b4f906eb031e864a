"""SQS set-up and checks, for ``filegate setup`` and ``filegate doctor``.

``ensure_*`` helpers are idempotent: run them again and they converge on the same queues and
attributes. ``check_*`` helpers change nothing and return one :class:`Finding` per fact.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Protocol

from botocore.exceptions import ClientError

from filegate.adapters.findings import Finding
from filegate.adapters.sqs.client import (
    QueueLookup,
    QueueNotFound,
    RedrivePolicy,
    aws,
    error_codes,
    parse_redrive_policy,
    queue_url_of,
)
from filegate.adapters.sqs.url import default_dead_letter_name

if TYPE_CHECKING:
    from typing import Unpack

    from types_aiobotocore_sqs.literals import QueueAttributeNameType
    from types_aiobotocore_sqs.type_defs import (
        CreateQueueRequestTypeDef,
        CreateQueueResultTypeDef,
        EmptyResponseMetadataTypeDef,
        SetQueueAttributesRequestTypeDef,
    )

    Attributes = Mapping[QueueAttributeNameType, str]

DEFAULT_RETENTION = timedelta(days=4)
"""SQS's default retention, for the source queue."""
DEAD_LETTER_RETENTION = timedelta(days=14)
"""SQS's longest retention, for the dead-letter queue. It must exceed the source queue's:
a standard queue's message keeps its first enqueue time when it moves, so a DLQ with the
same retention would drop messages that arrive old."""
MAX_VISIBILITY = timedelta(hours=12)
MAX_RECEIVES_LIMIT = 1000  # SQS's bound on maxReceiveCount

_QUEUE_EXISTS = frozenset({"QueueAlreadyExists", "QueueNameExists"})
_S3 = "s3.amazonaws.com"


class SqsAdmin(QueueLookup, Protocol):
    """The SQS calls provisioning makes (beyond the look-ups)."""

    async def create_queue(
        self, **kwargs: Unpack[CreateQueueRequestTypeDef]
    ) -> CreateQueueResultTypeDef: ...

    async def set_queue_attributes(
        self, **kwargs: Unpack[SetQueueAttributesRequestTypeDef]
    ) -> EmptyResponseMetadataTypeDef: ...


@dataclass(frozen=True)
class QueuePair:
    """A queue and its dead-letter queue, by URL and ARN."""

    url: str
    arn: str
    dead_letter_url: str
    dead_letter_arn: str


async def ensure_queues(
    client: SqsAdmin,
    name: str,
    visibility_timeout: timedelta,
    max_receives: int,
    retention: timedelta = DEFAULT_RETENTION,
    dead_letter_name: str | None = None,
) -> QueuePair:
    """Create or update the dead-letter queue (retention 14 days), then the queue with
    ``visibility_timeout``, ``retention`` and a RedrivePolicy to the DLQ after
    ``max_receives`` receives. Raises ``ValueError`` for values SQS would refuse."""
    _validate(visibility_timeout, max_receives, retention)
    dlq_name = dead_letter_name or default_dead_letter_name(name)
    dlq_url = await _ensure_queue(
        client, dlq_name, {"MessageRetentionPeriod": _seconds(DEAD_LETTER_RETENTION)}
    )
    dlq_arn = await _arn(client, dlq_url)
    redrive = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receives}
    url = await _ensure_queue(
        client,
        name,
        {
            "VisibilityTimeout": _seconds(visibility_timeout),
            "MessageRetentionPeriod": _seconds(retention),
            "RedrivePolicy": json.dumps(redrive),
        },
    )
    return QueuePair(url, await _arn(client, url), dlq_url, dlq_arn)


def _validate(visibility_timeout: timedelta, max_receives: int, retention: timedelta) -> None:
    if not timedelta(0) <= visibility_timeout <= MAX_VISIBILITY:
        raise ValueError("visibility_timeout must be between 0 and 12 hours")
    if not 1 <= max_receives <= MAX_RECEIVES_LIMIT:
        raise ValueError(f"max_receives must be between 1 and {MAX_RECEIVES_LIMIT}")
    if not timedelta(seconds=60) <= retention < DEAD_LETTER_RETENTION:
        raise ValueError("retention must be at least 60 s and shorter than the DLQ's 14 days")


async def _ensure_queue(client: SqsAdmin, name: str, attributes: Attributes) -> str:
    """The queue's URL, creating it with ``attributes`` or setting them on it."""
    try:
        url = await queue_url_of(client, name)
    except QueueNotFound:
        try:
            created = await aws(client.create_queue(QueueName=name, Attributes=attributes))
            return created["QueueUrl"]
        except ClientError as exc:  # created meanwhile, by someone else
            if not error_codes(exc) & _QUEUE_EXISTS:
                raise
            url = await queue_url_of(client, name)
    await aws(client.set_queue_attributes(QueueUrl=url, Attributes=attributes))
    return url


async def ensure_queue_policy(
    client: SqsAdmin, queue_url: str, queue_arn: str, bucket_arn: str
) -> None:
    """Allow S3 to SendMessage to the queue for events of ``bucket_arn`` (needed for S3
    event notifications on AWS). Other statements of the policy are kept; ours is
    replaced, so running this again changes nothing."""
    policy = await _policy(client, queue_url) or {"Version": "2012-10-17", "Statement": []}
    sid = _statement_id(bucket_arn)
    others = [s for s in _statements(policy) if s.get("Sid") != sid]
    policy["Statement"] = [*others, _s3_statement(sid, queue_arn, bucket_arn)]
    await aws(
        client.set_queue_attributes(QueueUrl=queue_url, Attributes={"Policy": json.dumps(policy)})
    )


def _statement_id(bucket_arn: str) -> str:
    bucket = bucket_arn.rsplit(":", 1)[-1]
    return "FilegateS3Events" + "".join(ch for ch in bucket if ch.isalnum())


def _s3_statement(sid: str, queue_arn: str, bucket_arn: str) -> dict[str, Any]:
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": {"Service": _S3},
        "Action": "sqs:SendMessage",
        "Resource": queue_arn,
        "Condition": {"ArnEquals": {"aws:SourceArn": bucket_arn}},
    }


# --- checks ---------------------------------------------------------------------------------


async def check_queues(
    client: QueueLookup,
    name: str,
    visibility_timeout: timedelta | None = None,
    max_receives: int | None = None,
    dead_letter_name: str | None = None,
) -> list[Finding]:
    """Findings on the queue, its redrive policy and its dead-letter queue.

    ``visibility_timeout`` and ``max_receives`` are compared when given; the dead-letter
    queue expected is ``dead_letter_name``, else the one the policy names, else
    ``{name}-dlq``.
    """
    try:
        url = await queue_url_of(client, name)
    except QueueNotFound:
        return [Finding(False, f"queue {name}", "does not exist (run `filegate setup`)")]
    attributes = await _attributes(client, url)
    policy = parse_redrive_policy(attributes.get("RedrivePolicy"))
    target = dead_letter_name or (policy.dead_letter_name if policy else None)
    dead_letter = target or default_dead_letter_name(name)
    return [
        Finding(True, f"queue {name}", f"exists at {url}"),
        *_check_visibility(attributes, visibility_timeout),
        *_check_redrive(name, policy, target, max_receives),
        *await _check_dead_letter_queue(client, dead_letter, attributes),
    ]


def _check_visibility(attributes: Attributes, expected: timedelta | None) -> list[Finding]:
    if expected is None:
        return []
    actual = attributes.get("VisibilityTimeout", "?")
    wanted = _seconds(expected)
    detail = f"VisibilityTimeout is {actual} s, expected {wanted} s"
    return [Finding(actual == wanted, "visibility timeout", detail)]


def _check_redrive(
    name: str, policy: RedrivePolicy | None, target: str | None, max_receives: int | None
) -> list[Finding]:
    if policy is None:
        detail = (
            f"queue {name!r} has no RedrivePolicy: a message that keeps failing is received "
            "again and again and never reaches a dead-letter queue"
        )
        return [Finding(False, "redrive policy", detail)]
    actual = f"dead-letters to {policy.dead_letter_name!r} after {policy.max_receives} receives"
    findings = [Finding(True, "redrive policy", actual)]
    if target is not None and policy.dead_letter_name != target:
        detail = f"RedrivePolicy targets {policy.dead_letter_name!r}, expected {target!r}"
        findings.append(Finding(False, "redrive target", detail))
    if max_receives is not None and policy.max_receives != max_receives:
        detail = f"maxReceiveCount is {policy.max_receives}, expected {max_receives}"
        findings.append(Finding(False, "max receives", detail))
    return findings


async def _check_dead_letter_queue(
    client: QueueLookup, name: str, source: Attributes
) -> list[Finding]:
    try:
        url = await queue_url_of(client, name)
    except QueueNotFound:
        return [
            Finding(False, f"dead-letter queue {name}", "does not exist (run `filegate setup`)")
        ]
    dead = await _attributes(client, url)
    kept = int(dead.get("MessageRetentionPeriod", "0"))
    source_kept = int(source.get("MessageRetentionPeriod", "0"))
    detail = f"retention {kept} s, the queue's {source_kept} s"
    return [
        Finding(True, f"dead-letter queue {name}", f"exists at {url}"),
        Finding(kept > source_kept, "dead-letter retention", detail + " (must be longer)"),
    ]


async def check_queue_policy(
    client: QueueLookup, queue_url: str, queue_arn: str, bucket_arn: str
) -> list[Finding]:
    """One finding: does the queue's policy let S3 send events of ``bucket_arn``?"""
    policy = await _policy(client, queue_url)
    allowed = policy is not None and any(
        _allows_s3(s, queue_arn, bucket_arn) for s in _statements(policy)
    )
    detail = (
        f"allows {_S3} to sqs:SendMessage for {bucket_arn}"
        if allowed
        else f"no statement allows {_S3} to sqs:SendMessage to {queue_arn} for {bucket_arn}; "
        "S3 cannot deliver events (run `filegate setup`)"
    )
    return [Finding(allowed, "queue policy", detail)]


def _allows_s3(statement: Mapping[str, Any], queue_arn: str, bucket_arn: str) -> bool:
    principal = statement.get("Principal", {})
    services = principal.get("Service", []) if isinstance(principal, Mapping) else []
    condition = statement.get("Condition", {})
    source_arns = [
        arn
        for test in ("ArnEquals", "ArnLike", "StringEquals")
        for arn in _as_list(condition.get(test, {}).get("aws:SourceArn"))
    ]
    return (
        statement.get("Effect") == "Allow"
        and _S3 in _as_list(services)
        and bool({"sqs:SendMessage", "sqs:*", "*"} & set(_as_list(statement.get("Action"))))
        and bool({queue_arn, "*"} & set(_as_list(statement.get("Resource"))))
        and (not source_arns or bucket_arn in source_arns)
    )


# --- reading ----------------------------------------------------------------------------------


async def _attributes(client: QueueLookup, url: str) -> Attributes:
    response = await aws(client.get_queue_attributes(QueueUrl=url, AttributeNames=["All"]))
    return response.get("Attributes", {})


async def _arn(client: QueueLookup, url: str) -> str:
    response = await aws(client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"]))
    return response["Attributes"]["QueueArn"]


async def _policy(client: QueueLookup, url: str) -> dict[str, Any] | None:
    response = await aws(client.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"]))
    text = response.get("Attributes", {}).get("Policy")
    if not text:
        return None
    document = json.loads(text)
    return document if isinstance(document, dict) else None


def _statements(policy: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [s for s in _as_list(policy.get("Statement")) if isinstance(s, dict)]


def _as_list(value: object) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _seconds(duration: timedelta) -> str:
    return str(int(duration.total_seconds()))
