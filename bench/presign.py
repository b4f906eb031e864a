"""``presign``: signing upload URLs with the local store's signer vs one bare HMAC.

filegate: ``LocalObjectStore.sign_upload`` (key check, expiry, canonical string of every
bound field, HMAC-SHA256, base64url, URL encoding). Baseline: one
``hmac.new(key, message, sha256).digest()`` over a message as long as that canonical
string: the cryptographic minimum of any signed URL.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import tempfile
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

from bench.harness import Result, interleave, per_second
from filegate.adapters.local.store import LocalObjectStore
from filegate.adapters.local.url_signing import SCHEME, UrlSigner
from filegate.domain.clock import SystemClock
from filegate.domain.models import UploadSpec

KEY_ID = "k1"
TTL = timedelta(minutes=15)
BASELINE_IS = "hmac.new(key, msg, sha256).digest() on a message as long as the signed string"


@dataclass(frozen=True)
class Scale:
    urls_per_repetition: int
    repetitions: int


FULL = Scale(urls_per_repetition=20_000, repetitions=7)
QUICK = Scale(urls_per_repetition=200, repetitions=1)


def run(quick: bool) -> list[Result]:
    scale = QUICK if quick else FULL
    key = secrets.token_bytes(32)
    object_key = f"{secrets.token_hex(8)}/{secrets.token_hex(16)}"
    spec = UploadSpec(2_483_117, "image/jpeg", secrets.token_hex(32))
    with tempfile.TemporaryDirectory(prefix="bench-presign-") as tmp:
        signer = UrlSigner({KEY_ID: key}, KEY_ID)
        store = LocalObjectStore(Path(tmp), "http://127.0.0.1:8000", signer, SystemClock())
        message = _canonical_like(object_key, spec)
        count = scale.urls_per_repetition

        def filegate() -> float:
            started = time.perf_counter()
            for _ in range(count):
                store.sign_upload(object_key, spec, TTL)
            return per_second(count, time.perf_counter() - started)

        def baseline() -> float:
            started = time.perf_counter()
            for _ in range(count):
                hmac.new(key, message, hashlib.sha256).digest()
            return per_second(count, time.perf_counter() - started)

        medians = interleave(filegate, baseline, scale.repetitions)
    note = f"{BASELINE_IS} ({len(message)} bytes)"
    return [Result("presign", "URLs/s", medians.filegate, medians.baseline, note)]


def _canonical_like(object_key: str, spec: UploadSpec) -> bytes:
    """A message with the fields, separators and length of the string the signer signs."""
    expires = str(int(time.time()))
    fields = [SCHEME, KEY_ID, "PUT", object_key, expires, spec.content_type, str(spec.size)]
    return "\n".join([quote(f, safe="") for f in fields] + [spec.sha256 or "", ""]).encode()
