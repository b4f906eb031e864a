"""Idempotent set-up of a bucket for filegate, and checks that say precisely what is wrong.

``ensure_*`` change only what differs from what filegate needs, keep everything else in the
bucket's configuration (other CORS rules, other notifications), and can run any number of
times. ``check_*`` change nothing and return one :class:`Finding` per requirement (used by
``filegate doctor``); the requirement holds when ``ok``.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, Final, cast

from botocore.exceptions import ClientError

from filegate.adapters.findings import Finding
from filegate.adapters.s3.client import S3BucketCalls, error_code, s3_errors

if TYPE_CHECKING:
    from types_aiobotocore_s3.literals import BucketLocationConstraintType
    from types_aiobotocore_s3.type_defs import (
        CORSRuleOutputTypeDef,
        CORSRuleTypeDef,
        CORSRuleUnionTypeDef,
        NotificationConfigurationTypeDef,
        QueueConfigurationOutputTypeDef,
        QueueConfigurationTypeDef,
    )

CORS_RULE_ID = "filegate"
NOTIFICATION_ID = "filegate-object-created"
CORS_METHODS = ("GET", "HEAD", "PUT")
UPLOAD_HEADERS = ("content-type", "content-length", "x-amz-checksum-sha256", "if-none-match")
EXPOSED_HEADERS = ("ETag",)
CORS_MAX_AGE_SECONDS = 3600
OBJECT_CREATED: Final = "s3:ObjectCreated:*"
_MISSING_BUCKET_CODES = frozenset({"404", "NoSuchBucket", "NotFound"})


# -- bucket --------------------------------------------------------------------------------


async def ensure_bucket(client: S3BucketCalls, bucket: str, region: str | None) -> bool:
    """Create ``bucket`` in ``region`` unless it exists; return whether it was created."""
    if await _bucket_exists(client, bucket):
        return False
    try:
        with s3_errors():
            if region and region != "us-east-1":
                await client.create_bucket(
                    Bucket=bucket,
                    CreateBucketConfiguration={
                        "LocationConstraint": cast("BucketLocationConstraintType", region)
                    },
                )
            else:
                await client.create_bucket(Bucket=bucket)
    except ClientError as exc:
        if error_code(exc) == "BucketAlreadyOwnedByYou":  # created meanwhile by us
            return False
        raise
    return True


async def check_bucket(client: S3BucketCalls, bucket: str) -> list[Finding]:
    """Whether ``bucket`` exists and these credentials may use it."""
    what = f"bucket {bucket}"
    try:
        exists = await _bucket_exists(client, bucket)
    except ClientError as exc:
        return [Finding(False, what, f"not accessible with these credentials ({error_code(exc)})")]
    if not exists:
        return [Finding(False, what, "does not exist")]
    return [Finding(True, what, "exists and is accessible")]


async def _bucket_exists(client: S3BucketCalls, bucket: str) -> bool:
    try:
        with s3_errors():
            await client.head_bucket(Bucket=bucket)
    except ClientError as exc:
        if error_code(exc) in _MISSING_BUCKET_CODES:
            return False
        raise
    return True


# -- CORS ----------------------------------------------------------------------------------


def cors_rule(origins: Sequence[str]) -> CORSRuleTypeDef:
    """The rule browsers at ``origins`` need: signed PUTs and GETs, and reading ``ETag``."""
    return {
        "ID": CORS_RULE_ID,
        "AllowedOrigins": list(origins),
        "AllowedMethods": list(CORS_METHODS),
        "AllowedHeaders": list(UPLOAD_HEADERS),
        "ExposeHeaders": list(EXPOSED_HEADERS),
        "MaxAgeSeconds": CORS_MAX_AGE_SECONDS,
    }


async def ensure_cors(client: S3BucketCalls, bucket: str, origins: Sequence[str]) -> bool:
    """Put filegate's CORS rule first, keeping other rules; return whether anything changed.

    With no ``origins`` (no browser clients) nothing is done.
    """
    if not origins:
        return False
    current = await _cors_rules(client, bucket)
    others = [rule for rule in current if rule.get("ID") != CORS_RULE_ID]
    wanted: list[CORSRuleUnionTypeDef] = [cors_rule(origins), *others]
    if _normalised(wanted) == _normalised(current):
        return False
    with s3_errors():
        await client.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": wanted})
    return True


async def check_cors(client: S3BucketCalls, bucket: str, origins: Sequence[str]) -> list[Finding]:
    """For each origin: may it PUT with the upload headers, GET, HEAD, and read ``ETag``?

    Evaluated as S3 does: the first rule matching the origin, method and headers applies.
    """
    if not origins:
        return [Finding(True, "CORS", "no browser origins are configured")]
    rules = await _cors_rules(client, bucket)
    if not rules:
        return [Finding(False, "CORS", f"bucket {bucket} has no CORS configuration")]
    return [finding for origin in origins for finding in _origin_findings(rules, origin)]


def _origin_findings(rules: Sequence[CORSRuleOutputTypeDef], origin: str) -> list[Finding]:
    findings = []
    for method in CORS_METHODS:
        headers = UPLOAD_HEADERS if method == "PUT" else ()
        rule = _first_matching(rules, origin, method, headers)
        what = f"CORS {method} from {origin}"
        if rule is not None:
            findings.append(Finding(True, what, f"allowed by rule {rule.get('ID', '(no id)')}"))
        elif _first_matching(rules, origin, method, ()) is None:
            findings.append(Finding(False, what, "no rule allows this method from this origin"))
        else:
            missing = _missing_headers(rules, origin, method, headers)
            findings.append(Finding(False, what, f"headers not allowed: {', '.join(missing)}"))
    # The rule S3 would apply to an upload, or else the one that only lacks headers.
    put_rule = _first_matching(rules, origin, "PUT", UPLOAD_HEADERS) or _first_matching(
        rules, origin, "PUT", ()
    )
    exposed = (
        {header.lower() for header in put_rule.get("ExposeHeaders", [])} if put_rule else set()
    )
    what = f"CORS exposes ETag to {origin}"
    if "etag" in exposed:
        findings.append(Finding(True, what, "multipart clients can read part ETags"))
    else:
        findings.append(Finding(False, what, "ETag is not exposed: multipart clients need it"))
    return findings


def _first_matching(
    rules: Sequence[CORSRuleOutputTypeDef], origin: str, method: str, headers: Iterable[str]
) -> CORSRuleOutputTypeDef | None:
    for rule in rules:
        if (
            _matches_origin(rule, origin)
            and method in rule["AllowedMethods"]
            and not _unallowed(rule, headers)
        ):
            return rule
    return None


def _missing_headers(
    rules: Sequence[CORSRuleOutputTypeDef], origin: str, method: str, headers: Sequence[str]
) -> list[str]:
    """The headers the closest rule for ``origin`` and ``method`` lacks."""
    candidates = [
        _unallowed(rule, headers)
        for rule in rules
        if _matches_origin(rule, origin) and method in rule["AllowedMethods"]
    ]
    return min(candidates, key=len)


def _matches_origin(rule: CORSRuleOutputTypeDef, origin: str) -> bool:
    # S3 allows one "*" wildcard in an allowed origin.
    return any(fnmatch.fnmatchcase(origin, allowed) for allowed in rule["AllowedOrigins"])


def _unallowed(rule: CORSRuleOutputTypeDef, headers: Iterable[str]) -> list[str]:
    allowed = [pattern.lower() for pattern in rule.get("AllowedHeaders", [])]
    return [h for h in headers if not any(fnmatch.fnmatchcase(h, p) for p in allowed)]


async def _cors_rules(client: S3BucketCalls, bucket: str) -> list[CORSRuleOutputTypeDef]:
    try:
        with s3_errors():
            response = await client.get_bucket_cors(Bucket=bucket)
    except ClientError as exc:
        if error_code(exc) == "NoSuchCORSConfiguration":
            return []
        raise
    return list(response.get("CORSRules", []))


def _normalised(rules: Sequence[Any]) -> list[dict[str, Any]]:
    """Rules compared regardless of list order inside a rule and of omitted empty fields."""
    return [
        {
            name: sorted(value) if isinstance(value, list) else value
            for name, value in dict(rule).items()
            if value not in ([], None)
        }
        for rule in rules
    ]


# -- event notifications ---------------------------------------------------------------------


def queue_notification(queue_arn: str, prefix: str) -> QueueConfigurationTypeDef:
    """Every object created under ``prefix`` is announced on the queue ``queue_arn``.

    Renditions' keys are announced too: S3 filter rules only *include* (one prefix, one
    suffix), and originals' keys have no suffix to include by, so the store drops
    rendition events when it maps event keys (``S3ObjectStore.key_of_event``).
    """
    configuration: QueueConfigurationTypeDef = {
        "Id": NOTIFICATION_ID,
        "QueueArn": queue_arn,
        "Events": [OBJECT_CREATED],
    }
    if prefix:
        configuration["Filter"] = {"Key": {"FilterRules": [{"Name": "prefix", "Value": prefix}]}}
    return configuration


async def ensure_notification(
    client: S3BucketCalls, bucket: str, queue_arn: str, prefix: str
) -> bool:
    """Send ObjectCreated events under ``prefix`` to ``queue_arn``, keeping other
    notifications; return whether anything changed.

    AWS sends a test event and refuses unless the queue's policy lets S3 send messages.
    """
    current = await _notifications(client, bucket)
    queues = list(current.get("QueueConfigurations", []))
    others = [queue for queue in queues if queue.get("Id") != NOTIFICATION_ID]
    wanted = [queue_notification(queue_arn, prefix), *others]
    if _normalised(wanted) == _normalised(queues):
        return False
    # Everything else in the configuration (topics, functions, EventBridge) is kept as is.
    configuration = cast(
        "NotificationConfigurationTypeDef", {**current, "QueueConfigurations": wanted}
    )
    with s3_errors():
        await client.put_bucket_notification_configuration(
            Bucket=bucket, NotificationConfiguration=configuration
        )
    return True


async def check_notification(
    client: S3BucketCalls, bucket: str, queue_arn: str, prefix: str
) -> list[Finding]:
    """Whether some notification sends every ObjectCreated event under ``prefix`` to the queue."""
    what = f"events of bucket {bucket} to {queue_arn}"
    queues = (await _notifications(client, bucket)).get("QueueConfigurations", [])
    to_queue = [queue for queue in queues if queue["QueueArn"] == queue_arn]
    if not to_queue:
        return [Finding(False, what, "no notification sends to this queue")]
    problems = [_notification_problem(queue, prefix) for queue in to_queue]
    if None in problems:
        return [Finding(True, what, f"ObjectCreated events under {prefix!r} are sent")]
    return [Finding(False, what, "; ".join(p for p in problems if p))]


def _notification_problem(queue: QueueConfigurationOutputTypeDef, prefix: str) -> str | None:
    if OBJECT_CREATED not in queue["Events"]:
        return f"events are {sorted(queue['Events'])}, not {OBJECT_CREATED}"
    rules = queue.get("Filter", {}).get("Key", {}).get("FilterRules", [])
    for rule in rules:
        name, value = rule.get("Name", "").lower(), rule.get("Value", "")
        if name == "prefix" and not prefix.startswith(value):
            return f"only keys under {value!r} are sent, not all under {prefix!r}"
        if name == "suffix" and value:
            return f"only keys ending in {value!r} are sent"
    return None


async def _notifications(client: S3BucketCalls, bucket: str) -> dict[str, Any]:
    with s3_errors():
        response = await client.get_bucket_notification_configuration(Bucket=bucket)
    return {name: value for name, value in response.items() if name != "ResponseMetadata"}
