"""``store_put``: streaming signed PUTs of large bodies to the local store, over loopback.

filegate: the real ``store_router`` (signature and header checks, length bound while
streaming, SHA-256 on the fly, temporary file, fsync, link into place, sidecar) behind a
gate that accepts every key. Baseline: a Starlette endpoint in the same server process
that writes the body's chunks to a file. One client, one PUT at a time.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx

from bench import servers
from bench.apps import BASELINE_PUT_PATH, SIGNING_KEY_ENV, SIGNING_KEY_ID, STORE_ROOT_ENV
from bench.harness import Result, interleave, per_second
from bench.load import UnexpectedAnswer
from filegate.adapters.local.store import LocalObjectStore
from filegate.adapters.local.url_signing import UrlSigner
from filegate.domain.clock import SystemClock
from filegate.domain.models import UploadSpec

MIB = 1 << 20
URL_TTL = timedelta(minutes=30)
BASELINE_IS = "Starlette PUT in the same server: body chunks written to a file (no hash, no fsync)"


@dataclass(frozen=True)
class Scale:
    body_bytes: int
    puts_per_repetition: int
    repetitions: int


FULL = Scale(body_bytes=10 * MIB, puts_per_repetition=3, repetitions=15)
QUICK = Scale(body_bytes=MIB // 4, puts_per_repetition=1, repetitions=1)


def run(quick: bool) -> list[Result]:
    scale = QUICK if quick else FULL
    key = secrets.token_bytes(32)
    with tempfile.TemporaryDirectory(prefix="bench-store-put-") as tmp:
        env = {STORE_ROOT_ENV: str(Path(tmp) / "server"), SIGNING_KEY_ENV: key.hex()}
        spec = servers.uvicorn_factory("bench.apps:store_app", env)
        with servers.running(spec, log_dir=Path(tmp)) as (url,), httpx.Client(timeout=120) as http:
            signer = UrlSigner({SIGNING_KEY_ID: key}, SIGNING_KEY_ID)
            store = LocalObjectStore(Path(tmp) / "signing-only", url, signer, SystemClock())
            return [_measure(http, store, url, scale)]


def _measure(http: httpx.Client, store: LocalObjectStore, url: str, scale: Scale) -> Result:
    body = os.urandom(scale.body_bytes)
    spec = UploadSpec(len(body), "image/jpeg", hashlib.sha256(body).hexdigest())
    megabytes = scale.puts_per_repetition * len(body) / 1e6

    def filegate() -> float:
        uploads = [
            store.sign_upload(f"bench/{uuid.uuid4().hex}", spec, URL_TTL)
            for _ in range(scale.puts_per_repetition)
        ]
        started = time.perf_counter()
        for upload in uploads:
            _expect_ok(http.put(upload.url, content=body, headers=dict(upload.headers)))
        return per_second(megabytes, time.perf_counter() - started)

    def baseline() -> float:
        paths = [
            BASELINE_PUT_PATH.format(name=uuid.uuid4().hex)
            for _ in range(scale.puts_per_repetition)
        ]
        started = time.perf_counter()
        for path in paths:
            _expect_ok(
                http.put(url + path, content=body, headers={"Content-Type": spec.content_type})
            )
        return per_second(megabytes, time.perf_counter() - started)

    medians = interleave(filegate, baseline, scale.repetitions)
    size = f"{len(body) / MIB:g} MiB"
    return Result(
        "store_put", "MB/s", medians.filegate, medians.baseline, f"{BASELINE_IS}; {size} bodies"
    )


def _expect_ok(answer: httpx.Response) -> None:
    if answer.status_code != 200:
        raise UnexpectedAnswer(f"PUT {answer.url.path}: {answer.status_code} {answer.text[:300]}")
