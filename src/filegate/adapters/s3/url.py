"""Store URLs for S3-compatible stores: ``s3://bucket/optional/prefix?endpoint_url=...``.

Credentials never go in the URL: they come from the standard AWS credential chain
(environment, shared files, instance or container roles).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote, urlsplit

from filegate.adapters.aws_url import endpoint_url, region_name

_BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_KNOWN_PARAMS = frozenset({"endpoint_url", "region", "path_style"})
_BOOLEANS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


@dataclass(frozen=True)
class S3Location:
    """Where a store's objects live.

    ``prefix`` is empty or ends with ``/``; object keys are ``prefix + key``.
    ``endpoint_url`` is ``None`` for AWS itself. ``region`` ``None`` means "from the AWS
    configuration". ``path_style`` addresses the bucket in the path (``host/bucket/key``)
    rather than in the host name (``bucket.host/key``).
    """

    bucket: str
    prefix: str = ""
    endpoint_url: str | None = None
    region: str | None = None
    path_style: bool = False


def parse_s3_url(url: str) -> S3Location:
    """Parse ``s3://bucket[/prefix][?endpoint_url=&region=&path_style=]``.

    The prefix is the URL's path, percent-decoded. ``path_style`` defaults to true when an
    ``endpoint_url`` is given (MinIO, Ceph, moto rarely resolve bucket sub-domains) and to
    false for AWS. Raises ``ValueError`` naming the problem: another scheme, credentials, a
    port or a malformed bucket, an unsafe prefix, an unknown, repeated or malformed parameter.
    """
    parts = urlsplit(url)
    if parts.scheme != "s3":
        raise ValueError(f"a store URL for S3 starts with s3://, not {parts.scheme or '?'}://")
    if parts.fragment:
        raise ValueError("an s3:// URL takes no #fragment")
    bucket = _bucket(parts.netloc)
    params = _params(parts.query)
    endpoint = endpoint_url(params.get("endpoint_url"))
    path_style = _boolean("path_style", params.get("path_style"), default=bool(endpoint))
    return S3Location(
        bucket=bucket,
        prefix=_prefix(parts.path),
        endpoint_url=endpoint,
        region=region_name(params.get("region")),
        path_style=path_style,
    )


def _bucket(netloc: str) -> str:
    if "@" in netloc:
        raise ValueError(
            "credentials do not belong in the store URL; use the AWS environment or profile"
        )
    if ":" in netloc:
        raise ValueError("an s3:// URL names a bucket, not a host:port; use ?endpoint_url=")
    if not _BUCKET_NAME.fullmatch(netloc) or ".." in netloc:
        raise ValueError(
            f"{netloc!r} is not a valid bucket name "
            "(3-63 characters: lower-case letters, digits, dots, hyphens)"
        )
    return netloc


def _prefix(path: str) -> str:
    stripped = unquote(path).strip("/")
    if not stripped:
        return ""
    segments = stripped.split("/")
    if any(segment in ("", ".", "..") for segment in segments):
        raise ValueError(f"the key prefix {stripped!r} has an empty, '.' or '..' segment")
    if any(ord(ch) < 0x20 or ch == "\\" for ch in stripped):
        raise ValueError("the key prefix has control characters or backslashes")
    return stripped + "/"


def _params(query: str) -> dict[str, str]:
    params: dict[str, str] = {}
    for name, value in parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query)):
        if name not in _KNOWN_PARAMS:
            raise ValueError(
                f"unknown s3:// URL parameter {name!r}; known: {sorted(_KNOWN_PARAMS)}"
            )
        if name in params:
            raise ValueError(f"the s3:// URL parameter {name!r} is repeated")
        params[name] = value
    return params


def _boolean(name: str, value: str | None, default: bool) -> bool:
    if value is None:
        return default
    try:
        return _BOOLEANS[value.lower()]
    except KeyError:
        raise ValueError(f"{name} must be true or false, not {value!r}") from None
