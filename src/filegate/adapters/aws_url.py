"""The ``endpoint_url`` and ``region`` parameters shared by ``s3://`` and ``sqs://`` URLs."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

_REGION_NAME = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")


def endpoint_url(value: str | None) -> str | None:
    """``scheme://host[:port]`` of an S3- or SQS-compatible service; ``ValueError`` else.

    Credentials never belong here (they come from the AWS chain), nor paths or queries.
    """
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"endpoint_url must be an http(s)://host[:port] URL, not {value!r}")
    if parts.username or parts.password:
        raise ValueError("credentials do not belong in endpoint_url: use the AWS chain")
    if parts.query or parts.fragment or parts.path not in ("", "/"):
        raise ValueError("endpoint_url is scheme://host[:port] only (no path or query)")
    return f"{parts.scheme}://{parts.netloc}"


def region_name(value: str | None) -> str | None:
    """A region name such as ``eu-west-1`` (compatible services name their own)."""
    if value is None:
        return None
    if len(value) > 64 or not _REGION_NAME.fullmatch(value):
        raise ValueError(f"{value!r} is not a region name (such as eu-west-1)")
    return value
