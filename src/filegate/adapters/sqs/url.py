"""``sqs://`` queue URLs: which SQS queue, at which endpoint, in which region.

    sqs://queue-name?endpoint_url=http://127.0.0.1:5000&region=eu-west-1&dlq=queue-name-dlq

Every parameter is optional. Without ``endpoint_url`` botocore picks AWS's endpoint for
the region; without ``region`` the standard AWS chain decides (``AWS_REGION`` on Lambda).
Without ``dlq`` the dead-letter queue is the one the queue's RedrivePolicy names, else
``{name}-dlq``. Credentials never travel in the URL: they come from the standard AWS chain.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

from filegate.adapters.aws_url import endpoint_url, region_name

SCHEME = "sqs"
DLQ_SUFFIX = "-dlq"

_QUEUE_NAME = re.compile(r"[A-Za-z0-9_-]{1,80}")
_PARAMETERS = frozenset({"endpoint_url", "region", "dlq"})


@dataclass(frozen=True)
class SqsLocation:
    """Where a queue lives. ``None`` means "let the AWS chain or the queue decide"."""

    queue_name: str
    endpoint_url: str | None = None
    region: str | None = None
    dead_letter_queue_name: str | None = None


def default_dead_letter_name(queue_name: str) -> str:
    """The dead-letter queue's name when neither the URL nor a RedrivePolicy names one."""
    return f"{queue_name}{DLQ_SUFFIX}"


def parse_sqs_url(url: str) -> SqsLocation:
    """The location an ``sqs://`` URL names; ``ValueError`` says precisely what is wrong."""
    parts = urlsplit(url)
    if parts.scheme != SCHEME:
        raise ValueError(f"not an sqs:// URL: {url!r}")
    if "@" in parts.netloc:
        raise ValueError("credentials do not belong in the queue URL: use the AWS chain")
    if parts.path not in ("", "/") or parts.fragment:
        raise ValueError(f"an sqs:// URL names one queue, nothing after it: {url!r}")
    parameters = _parameters(parts.query)
    return SqsLocation(
        queue_name=_queue_name(parts.netloc, "queue"),
        endpoint_url=endpoint_url(parameters.get("endpoint_url")),
        region=region_name(parameters.get("region")),
        dead_letter_queue_name=_optional_name(parameters.get("dlq")),
    )


def _parameters(query: str) -> dict[str, str]:
    pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query))
    names = [name for name, _ in pairs]
    unknown = sorted(set(names) - _PARAMETERS)
    if unknown:
        raise ValueError(f"unknown sqs:// parameter(s) {unknown}; known: {sorted(_PARAMETERS)}")
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValueError(f"sqs:// parameter(s) given twice: {repeated}")
    return dict(pairs)


def _queue_name(name: str, what: str) -> str:
    if name.endswith(".fifo"):
        raise ValueError(f"FIFO queues are not supported (the {what} is {name!r})")
    if not _QUEUE_NAME.fullmatch(name):
        raise ValueError(f"invalid SQS {what} name {name!r}: 1 to 80 letters, digits, '-' or '_'")
    return name


def _optional_name(name: str | None) -> str | None:
    return None if name is None else _queue_name(name, "dead-letter queue")
