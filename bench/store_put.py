"""``store_put``: signed PUTs to the local store, 8 at once over loopback, two body sizes.

filegate: the real ``store_router`` (signature and header checks, length bound while
streaming, SHA-256 on the fly, temporary file, fsync, atomic publishing) behind a gate
that accepts every key, in its own uvicorn process. Baseline: nginx's WebDAV PUT to disk
(one worker process) when ``nginx`` is on ``PATH``, else a bare Starlette PUT writing the
body's chunks to a file, in its own uvicorn process. Neither baseline hashes or fsyncs.
A second row per size compares with the same durability: a bare Starlette PUT that writes
the chunks, fsyncs the file off the loop, renames it into place and fsyncs the folder (no
hash, no signature): with fsync, the disk's own write rate bounds both sides.

Each repetition sends the same number of PUTs to each side; sides alternate, and which
goes first alternates between pairs (the harness's ``interleave`` always starts with
filegate). The row gives each side's median and the median of the paired ratios.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from bench import nginx_put, servers
from bench.harness import Medians, Result
from bench.put_load import Put, put_all
from bench.store_apps import (
    BARE_PUT_PATH,
    DURABLE_PUT_PATH,
    SIGNING_KEY_ENV,
    SIGNING_KEY_ID,
    STORE_ROOT_ENV,
)
from filegate.adapters.local.store import LocalObjectStore
from filegate.adapters.local.url_signing import UrlSigner
from filegate.domain.clock import SystemClock
from filegate.domain.models import UploadSpec

MIB = 1 << 20
CONNECTIONS = 8
URL_TTL = timedelta(minutes=30)
CONTENT_TYPE = "image/jpeg"


@dataclass(frozen=True)
class Scale:
    body_bytes: int
    puts_per_connection: int
    repetitions: int


FULL = (Scale(10 * MIB, 3, 8), Scale(MIB, 16, 8))  # even: each side first in half the pairs
QUICK = (Scale(MIB // 4, 1, 1),)


@dataclass(frozen=True)
class _Side:
    """One server under test: where it listens, where it stores, how to make its PUTs."""

    url: str
    folder: Path
    puts: Callable[[bytes, int], list[Put]]


def run(quick: bool) -> list[Result]:
    key = secrets.token_bytes(32)
    with tempfile.TemporaryDirectory(prefix="bench-store-put-") as tmp:
        root = Path(tmp)
        ours = root / "filegate"
        env = {STORE_ROOT_ENV: str(ours), SIGNING_KEY_ENV: key.hex()}
        filegate_spec = servers.uvicorn_factory("bench.store_apps:store_app", env)
        baseline_spec, theirs, baseline_is = _baseline(root / "baseline")
        durable_folder = root / "durable"
        durable_spec = servers.uvicorn_factory(
            "bench.store_apps:durable_put_app", {STORE_ROOT_ENV: str(durable_folder)}
        )
        specs = (filegate_spec, baseline_spec, durable_spec)
        with servers.running(*specs, log_dir=root) as (url, base_url, durable_url):
            signer = UrlSigner({SIGNING_KEY_ID: key}, SIGNING_KEY_ID)
            store = LocalObjectStore(root / "signing-only", url, signer, SystemClock())
            filegate = _Side(url, ours / "bench", _signed_puts(store))
            baseline = _Side(base_url, theirs, _bare_puts(BARE_PUT_PATH))
            durable = _Side(durable_url, durable_folder, _bare_puts(DURABLE_PUT_PATH))
            results = []
            for scale in QUICK if quick else FULL:
                results.append(_measure(filegate, baseline, scale, baseline_is))
                results.append(_measure(filegate, durable, scale, _DURABLE_IS, " durable"))
            return results


_DURABLE_IS = "bare Starlette PUT, chunks to a file, fsync, rename, folder fsync (no hash)"


def _baseline(folder: Path) -> tuple[servers.ServerSpec, Path, str]:
    """nginx when installed, else the bare Starlette PUT; the folder its objects land in."""
    folder.mkdir()
    if nginx_put.available():
        spec = servers.ServerSpec(nginx_put.command(folder))
        return (
            spec,
            folder / "objects" / "put",
            "nginx dav PUT to disk, 1 worker (no hash, no fsync)",
        )
    spec = servers.uvicorn_factory("bench.store_apps:bare_put_app", {STORE_ROOT_ENV: str(folder)})
    return spec, folder, "bare Starlette PUT, body chunks to a file (no hash, no fsync)"


def _signed_puts(store: LocalObjectStore) -> Callable[[bytes, int], list[Put]]:
    def puts(body: bytes, count: int) -> list[Put]:
        spec = UploadSpec(len(body), CONTENT_TYPE, hashlib.sha256(body).hexdigest())
        signed = [
            store.sign_upload(f"bench/{uuid.uuid4().hex}", spec, URL_TTL) for _ in range(count)
        ]
        return [Put(_target(s.url), (("Content-Type", CONTENT_TYPE),), 200) for s in signed]

    return puts


def _bare_puts(path: str) -> Callable[[bytes, int], list[Put]]:
    def puts(body: bytes, count: int) -> list[Put]:
        headers = (("Content-Type", CONTENT_TYPE),)
        return [Put(path.format(name=uuid.uuid4().hex), headers, 201) for _ in range(count)]

    return puts


def _target(url: str) -> str:
    return "/" + url.split("/", 3)[3]


def _measure(
    filegate: _Side, baseline: _Side, scale: Scale, baseline_is: str, suffix: str = ""
) -> Result:
    body = os.urandom(scale.body_bytes)

    def once(side: _Side) -> float:
        count = CONNECTIONS * scale.puts_per_connection
        puts = side.puts(body, count)
        per_connection = [puts[i::CONNECTIONS] for i in range(CONNECTIONS)]
        try:
            return put_all(side.url, per_connection, body)
        finally:
            _settle(side.folder)

    once(filegate), once(baseline)  # warm-up
    pairs = [_pair(once, filegate, baseline, flip=i % 2 == 1) for i in range(scale.repetitions)]
    medians = Medians.of_pairs([ours for ours, _ in pairs], [theirs for _, theirs in pairs])
    size = f"{scale.body_bytes / MIB:g} MiB"
    note = f"{baseline_is}; {CONNECTIONS} PUTs of {size} at once"
    return Result.of(f"store_put {size}{suffix}", "MB/s", medians, note)


def _pair(
    once: Callable[[_Side], float], filegate: _Side, baseline: _Side, *, flip: bool
) -> tuple[float, float]:
    """One repetition of each side, the baseline first when ``flip``: whichever side runs
    right after the other's writes was measured slower here, so each takes that place
    in half the pairs."""
    if flip:
        theirs = once(baseline)
        return once(filegate), theirs
    return once(filegate), once(baseline)


def _settle(folder: Path) -> None:
    """Between repetitions, outside the timing: flush this side's writes, then remove its
    objects and flush again, so neither its dirty pages nor the freeing of its blocks
    (discards, on a filesystem mounted with them) land in the next side's fsyncs."""
    os.sync()
    _empty(folder)
    os.sync()


def _empty(folder: Path) -> None:
    """Remove what ``folder`` holds (not the folder: a server writes into it)."""
    for entry in folder.iterdir() if folder.is_dir() else []:
        if entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
