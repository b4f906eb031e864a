"""Parsing ``s3://bucket/prefix?endpoint_url=&region=&path_style=`` store URLs."""

from __future__ import annotations

import re

import pytest

from filegate.adapters.s3.url import S3Location, parse_s3_url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("s3://my-bucket", S3Location("my-bucket")),
        ("s3://my-bucket/", S3Location("my-bucket")),
        ("s3://my-bucket/uploads", S3Location("my-bucket", "uploads/")),
        ("s3://my-bucket/a/b/", S3Location("my-bucket", "a/b/")),
        ("s3://b.with.dots/p", S3Location("b.with.dots", "p/")),
        ("s3://bucket/my%20photos", S3Location("bucket", "my photos/")),
        (
            "s3://bucket/prefix?endpoint_url=http://127.0.0.1:9000&region=eu-west-1&path_style=true",
            S3Location("bucket", "prefix/", "http://127.0.0.1:9000", "eu-west-1", True),
        ),
        (
            "s3://bucket?endpoint_url=https://minio.example:9000/",
            S3Location("bucket", "", "https://minio.example:9000", None, True),
        ),
        (
            "s3://bucket?endpoint_url=https://r2.example&path_style=false",
            S3Location("bucket", "", "https://r2.example", None, False),
        ),
        ("s3://bucket?region=us-east-1", S3Location("bucket", "", None, "us-east-1", False)),
        ("s3://bucket?path_style=1", S3Location("bucket", "", None, None, True)),
    ],
)
def test_well_formed_urls_parse(url: str, expected: S3Location) -> None:
    assert parse_s3_url(url) == expected


@pytest.mark.parametrize(
    ("url", "complaint"),
    [
        ("file:///tmp/objects", "starts with s3://"),
        ("s3://", "not a valid bucket name"),
        ("s3://ab", "not a valid bucket name"),
        ("s3://My-Bucket", "not a valid bucket name"),
        ("s3://bucket_name", "not a valid bucket name"),
        ("s3://-bucket", "not a valid bucket name"),
        ("s3://a..b", "not a valid bucket name"),
        ("s3://" + "b" * 64, "not a valid bucket name"),
        ("s3://AKIA:secret@bucket", "credentials do not belong"),
        ("s3://bucket:9000", "not a host:port"),
        ("s3://bucket/a//b", "empty, '.' or '..' segment"),
        ("s3://bucket/a/../b", "empty, '.' or '..' segment"),
        ("s3://bucket/a/%0a", "control characters"),
        ("s3://bucket#frag", "no #fragment"),
        ("s3://bucket?endpoint=http://x", "unknown s3:// URL parameter 'endpoint'"),
        ("s3://bucket?region=a&region=b", "'region' is repeated"),
        ("s3://bucket?region=EU_WEST", "not a region name"),
        ("s3://bucket?region=", "not a region name"),
        ("s3://bucket?path_style=maybe", "path_style must be true or false"),
        ("s3://bucket?endpoint_url=127.0.0.1:9000", "http(s)://host[:port]"),
        ("s3://bucket?endpoint_url=ftp://host", "http(s)://host[:port]"),
        ("s3://bucket?endpoint_url=http://u:p@host", "credentials do not belong in endpoint_url"),
        ("s3://bucket?endpoint_url=http://host/path", "no path or query"),
    ],
)
def test_malformed_urls_are_refused_with_a_clear_reason(url: str, complaint: str) -> None:
    with pytest.raises(ValueError, match=re.escape(complaint)):
        parse_s3_url(url)
