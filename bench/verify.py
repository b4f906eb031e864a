"""``verify``: the Verifier on a 12 MP JPEG and a 12 MP PNG through the real decode pool.

filegate: ``Examiner.examine`` (the Verifier's check of one file) on a file in the local
store: head (size, sidecar), SHA-256 of the bytes, then ``ProcessPoolInspector`` (magic
bytes, header limits, the decode of every block, facts, placeholder, hash, and the thumb and
preview renditions, stored next to the original) in a worker process. No database.
Baseline: Pillow opening and decoding the same file in this process (JPEG with the 1/8
draft scale filegate used before renditions).

The cost of renditions and facts: the same Verifier with renditions on (WebP, and JPEG)
against renditions off, interleaved.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from PIL import Image

from bench.harness import Medians, Result, interleave_async
from bench.images import jpeg_bytes, photo, png_bytes
from filegate.adapters.local.store import LocalObjectStore
from filegate.adapters.local.url_signing import UrlSigner
from filegate.bootstrap.policies import decode_pool
from filegate.config import Settings
from filegate.domain.clock import SystemClock
from filegate.domain.models import FileRecord, UploadSpec
from filegate.domain.states import FileState
from filegate.imaging.pool import ProcessPoolInspector
from filegate.services.examination import Examiner

_DRAFT_SCALE = 8
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Scale:
    width: int
    height: int
    jpeg_repetitions: int
    png_repetitions: int


FULL = Scale(width=4000, height=3000, jpeg_repetitions=15, png_repetitions=7)
QUICK = Scale(width=320, height=240, jpeg_repetitions=1, png_repetitions=1)


@dataclass(frozen=True)
class _Case:
    label: str
    content_type: str
    encode: Callable[[Image.Image], bytes]
    draft: bool
    repetitions: int
    baseline_is: str


def run(quick: bool) -> list[Result]:
    scale = QUICK if quick else FULL
    cases = [
        _Case(
            label="jpeg",
            content_type="image/jpeg",
            encode=jpeg_bytes,
            draft=True,
            repetitions=scale.jpeg_repetitions,
            baseline_is="Pillow open + draft(1/8) + load() of the same file, in-process",
        ),
        _Case(
            label="png",
            content_type="image/png",
            encode=png_bytes,
            draft=False,
            repetitions=scale.png_repetitions,
            baseline_is="Pillow open + load() of the same file, in-process (no draft for PNG)",
        ),
    ]
    with tempfile.TemporaryDirectory(prefix="bench-verify-") as tmp:
        image = photo(scale.width, scale.height)
        return asyncio.run(_measure(Path(tmp), image, cases))


async def _measure(tmp: Path, image: Image.Image, cases: list[_Case]) -> list[Result]:
    signer = UrlSigner({"k1": secrets.token_bytes(32)}, "k1")
    store = LocalObjectStore(tmp / "objects", "http://127.0.0.1", signer, SystemClock())
    megapixels = image.width * image.height / 1e6
    rows = []
    async with (
        _inspector(Settings(data_dir=tmp)) as webp,
        _inspector(Settings(data_dir=tmp, rendition_format="jpeg")) as jpeg,
        _inspector(Settings(data_dir=tmp, renditions=False)) as off,
    ):
        verifier = _verifier(store, webp)
        for case in cases:
            record = await _stored(store, case.encode(image), case.content_type)
            medians = await _compare(verifier, record, store.path_of(record.object_key), case)
            name = f"verify {case.label} {megapixels:.2g} MP"
            rows.append(Result.of(name, "ms/image", medians, case.baseline_is))
        photo_record = await _stored(store, jpeg_bytes(image), "image/jpeg")
        without = _timed(_verifier(store, off), photo_record)
        for label, inspector in (("webp", webp), ("jpeg", jpeg)):
            with_them = _timed(_verifier(store, inspector), photo_record)
            medians = await interleave_async(with_them, without, cases[0].repetitions)
            rows.append(
                Result(
                    f"verify jpeg {megapixels:.2g} MP, renditions ({label}) + facts",
                    "ms/image",
                    medians.filegate,
                    medians.baseline,
                    "the same Verifier with renditions off (facts, placeholder, hash still made)",
                )
            )
    return rows


def _verifier(store: LocalObjectStore, inspector: ProcessPoolInspector) -> Examiner:
    return Examiner(store, inspector, local_paths=store)


def _inspector(settings: Settings) -> ProcessPoolInspector:
    """The decode pool exactly as ``filegate.bootstrap.runtime`` configures it."""
    pool = decode_pool(settings)
    return ProcessPoolInspector(
        pool.limits,
        workers=pool.workers,
        timeout_seconds=pool.timeout_seconds,
        memory_limit_mb=pool.memory_limit_mb,
        renditions=pool.renditions,
    )


def _timed(verifier: Examiner, record: FileRecord) -> Callable[[], Awaitable[float]]:
    async def verify() -> float:
        started = time.perf_counter()
        verdict = await verifier.examine(record)
        elapsed = time.perf_counter() - started
        if verdict is None or not verdict.ready:
            raise RuntimeError(f"the verifier did not accept the image: {verdict}")
        return elapsed * 1000

    return verify


async def _compare(verifier: Examiner, record: FileRecord, path: Path, case: _Case) -> Medians:
    filegate = _timed(verifier, record)

    async def baseline() -> float:
        started = time.perf_counter()
        _decode(path, case.draft)
        return (time.perf_counter() - started) * 1000

    return await interleave_async(filegate, baseline, case.repetitions)


def _decode(path: Path, draft: bool) -> None:
    with Image.open(path) as im:
        if draft:
            im.draft("RGB", (im.width // _DRAFT_SCALE, im.height // _DRAFT_SCALE))
        im.load()


async def _stored(store: LocalObjectStore, data: bytes, content_type: str) -> FileRecord:
    """Put ``data`` in the store the way a signed PUT does; the record of a file awaiting it."""
    sha256 = hashlib.sha256(data).hexdigest()
    key = f"bench/{secrets.token_hex(16)}"
    await store.write_upload(key, _chunks(data), UploadSpec(len(data), content_type, sha256))
    now = datetime.now(UTC)
    return FileRecord(
        id=key.rsplit("/", 1)[1],
        owner="user:bench",
        object_key=key,
        filename=f"photo.{content_type.rsplit('/', 1)[1]}",
        declared_size=len(data),
        declared_type=content_type,
        declared_sha256=sha256,
        state=FileState.UPLOADED,
        created_at=now,
        updated_at=now,
        upload_expires_at=now + timedelta(hours=1),
    )


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(data), _CHUNK):
        yield data[start : start + _CHUNK]
