"""``presign``: signing upload URLs, for S3 against botocore and for the local store.

``presign s3``: ``S3ObjectStore.sign_upload`` (opened as the service opens it, static
credentials, virtual-hosted bucket on AWS, so no request leaves the machine) against
botocore's ``generate_presigned_url("put_object", ...)`` for the same bucket, key, expiry
and signed headers (type, length, SHA-256, ``If-None-Match``); both URLs are checked to
sign the same headers. ``presign local``: ``LocalObjectStore.sign_upload`` against one
``hmac.new(key, message, sha256).digest()`` over a message as long as its canonical
string, the cryptographic minimum of any signed URL.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import secrets
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import botocore.session
from aiobotocore.session import get_session
from botocore.config import Config

from bench.harness import Result, interleave, per_second
from filegate.adapters.local.store import LocalObjectStore
from filegate.adapters.local.url_signing import SCHEME, UrlSigner
from filegate.adapters.s3.store import open_s3_store
from filegate.adapters.s3.url import S3Location
from filegate.domain.clock import SystemClock
from filegate.domain.models import UploadSpec

KEY_ID = "k1"
TTL = timedelta(minutes=15)
BUCKET = "bench-bucket"
REGION = "eu-west-1"
ACCESS_KEY = "AKIDBENCHMARK"
LOCAL_BASELINE_IS = "hmac.new(key, msg, sha256).digest() on a message as long as the signed string"
S3_BASELINE_IS = "botocore generate_presigned_url('put_object'), same bucket, key, expiry, headers"


@dataclass(frozen=True)
class Scale:
    urls_per_repetition: int
    repetitions: int


FULL = Scale(urls_per_repetition=1_000, repetitions=7)
QUICK = Scale(urls_per_repetition=50, repetitions=1)


def run(quick: bool) -> list[Result]:
    scale = QUICK if quick else FULL
    object_key = f"{secrets.token_hex(8)}/{secrets.token_hex(16)}"
    spec = UploadSpec(2_483_117, "image/jpeg", secrets.token_hex(32))
    return [asyncio.run(_s3(object_key, spec, scale)), _local(object_key, spec, scale)]


def _rate(sign: Callable[[], object], count: int) -> Callable[[], float]:
    def rate() -> float:
        started = time.perf_counter()
        for _ in range(count):
            sign()
        return per_second(count, time.perf_counter() - started)

    return rate


async def _s3(object_key: str, spec: UploadSpec, scale: Scale) -> Result:
    secret_key = secrets.token_urlsafe(30)
    session = get_session()
    session.set_credentials(ACCESS_KEY, secret_key)
    client = _botocore_client(secret_key)
    params = {
        "Bucket": BUCKET,
        "Key": object_key,
        "ContentType": spec.content_type,
        "ContentLength": spec.size,
        "IfNoneMatch": "*",
        "ChecksumSHA256": base64.b64encode(bytes.fromhex(spec.sha256 or "")).decode(),
    }
    seconds = int(TTL.total_seconds())

    def botocore_url() -> str:
        url: str = client.generate_presigned_url("put_object", Params=params, ExpiresIn=seconds)
        return url

    location = S3Location(BUCKET, region=REGION)
    async with open_s3_store(location, SystemClock(), session=session) as store:
        _check_same_signed_headers(store.sign_upload(object_key, spec, TTL).url, botocore_url())
        count = scale.urls_per_repetition
        medians = interleave(
            _rate(lambda: store.sign_upload(object_key, spec, TTL), count),
            _rate(botocore_url, count),
            scale.repetitions,
        )
    return Result.of("presign s3", "URLs/s", medians, S3_BASELINE_IS)


def _botocore_client(secret_key: str) -> Any:
    config = Config(signature_version="s3v4", s3={"addressing_style": "virtual"})
    return botocore.session.get_session().create_client(
        "s3",
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=secret_key,
        config=config,
    )


def _check_same_signed_headers(ours: str, theirs: str) -> None:
    """Both sides must sign the same request, or the comparison means nothing."""
    signed = [parse_qs(urlsplit(url).query)["X-Amz-SignedHeaders"] for url in (ours, theirs)]
    hosts = [urlsplit(url).netloc for url in (ours, theirs)]
    if signed[0] != signed[1] or hosts[0] != hosts[1]:
        raise RuntimeError(f"different requests signed: {ours} vs {theirs}")


def _local(object_key: str, spec: UploadSpec, scale: Scale) -> Result:
    key = secrets.token_bytes(32)
    count = scale.urls_per_repetition * 4  # each is ~10x cheaper than an S3 URL
    with tempfile.TemporaryDirectory(prefix="bench-presign-") as tmp:
        signer = UrlSigner({KEY_ID: key}, KEY_ID)
        store = LocalObjectStore(Path(tmp), "http://127.0.0.1:8000", signer, SystemClock())
        message = _canonical_like(object_key, spec)
        medians = interleave(
            _rate(lambda: store.sign_upload(object_key, spec, TTL), count),
            _rate(lambda: hmac.new(key, message, hashlib.sha256).digest(), count),
            scale.repetitions,
        )
    note = f"{LOCAL_BASELINE_IS} ({len(message)} bytes)"
    return Result.of("presign local", "URLs/s", medians, note)


def _canonical_like(object_key: str, spec: UploadSpec) -> bytes:
    """A message with the fields, separators and length of the string the signer signs."""
    expires = str(int(time.time()))
    fields = [SCHEME, KEY_ID, "PUT", object_key, expires, spec.content_type, str(spec.size)]
    return "\n".join([quote(f, safe="") for f in fields] + [spec.sha256 or "", ""]).encode()
