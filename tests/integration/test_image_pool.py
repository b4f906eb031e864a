"""ProcessPoolInspector with real worker processes: limits, crashes, recovery, concurrency.

The slow and hungry image is ``bomb_png``: ~50 KB on disk, 400 MP (400 MB) once decoded.
A job that never ends, whatever the machine's speed, is a named pipe nobody writes to: the
worker blocks opening it (or reading it, once a test holds an empty write end open to see
that the worker took the job). No assertion depends on how fast anything runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import signal
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from filegate.domain.errors import BackendUnavailable
from filegate.domain.models import ImageInfo, Inspection, RejectionReason, RenditionName
from filegate.imaging.inspect import ImageLimits
from filegate.imaging.pool import ProcessPoolInspector
from filegate.imaging.renditions import RenditionSpec
from tests.support import images, photos
from tests.unit.test_imaging import verdict

LIMITS = ImageLimits(
    allowed_types=("image/jpeg", "image/png", "image/heic"),
    max_pixels=1_000_000_000,  # let the bombs through to the decoder
    max_frames=10,
)
JPEG_FACTS = (None, "image/jpeg", ImageInfo("JPEG", 64, 48, 1, "RGB", 1, bit_depth=8))
"""What the pool answers for the small test JPEG: reason, type and facts."""


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str, bytes], Path]:
    def write_file(name: str, data: bytes) -> Path:
        path = tmp_path / name
        path.write_bytes(data)
        return path

    return write_file


@pytest.fixture
def jpeg(write: Callable[[str, bytes], Path]) -> Path:
    return write("photo.jpg", images.jpeg_bytes())


@pytest.fixture
def bomb(write: Callable[[str, bytes], Path]) -> Path:
    return write("bomb.png", images.bomb_png())


@pytest.fixture
def endless(tmp_path: Path) -> Path:
    """A path whose inspection never finishes (a FIFO without a writer)."""
    path = tmp_path / "endless.jpg"
    os.mkfifo(path)
    return path


CRASHING_WORKER = """
import os, pathlib
from filegate.imaging import pool

answer = pool._answer

def crashing(line, *args):
    path = pathlib.Path(pool.json.loads(line)["path"])
    armed = path.with_name(path.name + ".armed")
    if path.name.startswith("crash-always") or armed.exists():
        armed.unlink(missing_ok=True)
        with (path.parent / "crashes").open("a") as log:
            log.write("x")
        os.abort()  # a decoder bug: the process dies with SIGABRT
    return answer(line, *args)

pool._answer = crashing
pool.serve_worker()
"""
"""A real worker that dies on files named ``crash-always*`` and once on an armed file."""


def crashing_pool() -> ProcessPoolInspector:
    return ProcessPoolInspector(LIMITS, 1, 30.0, 1024, worker_command=CRASHING_WORKER)


def reader_of(fifo: Path) -> int:
    """The child process that has ``fifo`` open (the worker decoding it)."""
    for pid in child_pids():
        with contextlib.suppress(OSError):
            if any(Path(fd).resolve() == fifo for fd in Path(f"/proc/{pid}/fd").iterdir()):
                return pid
    raise AssertionError(f"no child process has {fifo} open")


async def wait_until_reaped(pid: int) -> None:
    async with asyncio.timeout(10):
        while is_running(pid):
            await asyncio.sleep(0.005)


def pool(
    workers: int = 1, timeout_seconds: float = 30.0, memory_limit_mb: int = 1024
) -> ProcessPoolInspector:
    return ProcessPoolInspector(LIMITS, workers, timeout_seconds, memory_limit_mb)


@pytest.fixture
async def inspector() -> AsyncIterator[ProcessPoolInspector]:
    async with pool() as running:
        yield running


def child_pids() -> set[int]:
    """Live (not zombie) child processes of this test process, from /proc."""
    me, children = os.getpid(), set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            state, parent = stat.read_text().rsplit(")", 1)[1].split()[:2]
        except (OSError, ValueError):
            continue  # exited while we looked
        if int(parent) == me and state != "Z":
            children.add(int(stat.parent.name))
    return children


def is_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@contextlib.asynccontextmanager
async def held_open(fifo: Path) -> AsyncIterator[None]:
    """Wait until a worker has opened ``fifo`` to read it: proof that it took the job. The
    write end stays open (and empty) inside the block, so the worker waits for bytes."""
    async with asyncio.timeout(10):
        while True:
            try:  # without a reader, a non-blocking open for writing fails with ENXIO
                write_end = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
                break
            except OSError as error:
                if error.errno != errno.ENXIO:
                    raise
            await asyncio.sleep(0.002)
    try:
        yield
    finally:
        os.close(write_end)


async def warm_worker(inspector: ProcessPoolInspector, jpeg: Path) -> int:
    """Run one job so that exactly one idle worker exists; return its pid."""
    before = child_pids()
    assert verdict(await inspector.inspect(jpeg)) == JPEG_FACTS
    (pid,) = child_pids() - before
    return pid


# --- normal operation ---------------------------------------------------------------


async def test_valid_jpeg_is_inspected_in_a_worker(
    inspector: ProcessPoolInspector, jpeg: Path
) -> None:
    assert verdict(await inspector.inspect(jpeg)) == JPEG_FACTS


async def test_valid_heic_is_inspected_in_a_worker(
    inspector: ProcessPoolInspector, write: Callable[[str, bytes], Path]
) -> None:
    result = await inspector.inspect(write("photo.heic", images.heic_bytes()))
    assert verdict(result) == (
        None,
        "image/heic",
        ImageInfo("HEIF", 64, 48, 1, "RGB", 1, bit_depth=8),
    )


async def test_rejection_reason_comes_back_from_the_worker(
    inspector: ProcessPoolInspector, write: Callable[[str, bytes], Path]
) -> None:
    result = await inspector.inspect(write("broken.jpg", images.corrupt_jpeg()))
    assert result == Inspection(RejectionReason.CORRUPT_IMAGE)


async def test_one_worker_serves_consecutive_jobs(
    inspector: ProcessPoolInspector, jpeg: Path
) -> None:
    pid = await warm_worker(inspector, jpeg)
    assert verdict(await inspector.inspect(jpeg)) == JPEG_FACTS
    assert child_pids() >= {pid}


async def test_concurrency_never_exceeds_the_worker_count(
    write: Callable[[str, bytes], Path],
) -> None:
    slow = write("slow.png", images.bomb_png(10_000, 10_000))
    baseline = child_pids()
    peak = 0

    async def sample_while(jobs: asyncio.Future[list[Inspection]]) -> None:
        nonlocal peak
        while not jobs.done():
            peak = max(peak, len(child_pids() - baseline))
            await asyncio.sleep(0.002)

    async with pool(workers=2) as inspector:
        jobs = asyncio.gather(*(inspector.inspect(slow) for _ in range(6)))
        await sample_while(jobs)
        results = await jobs
    assert peak == 2
    assert {r.image.width if r.image else None for r in results} == {10_000}


# --- limits -------------------------------------------------------------------------


async def test_timeout_kills_a_decode_that_burns_cpu(bomb: Path) -> None:
    baseline, seen = child_pids(), set[int]()

    async def inspect_watching_workers(inspector: ProcessPoolInspector) -> Inspection:
        job = asyncio.ensure_future(inspector.inspect(bomb))
        while not job.done():
            seen.update(child_pids() - baseline)
            await asyncio.sleep(0.002)
        return await job

    async with pool(timeout_seconds=0.05) as inspector:  # the decode needs far longer
        result = await inspect_watching_workers(inspector)
        assert result == Inspection(RejectionReason.DECODE_TIMEOUT)
        assert len(seen) == 1
        assert not any(is_running(pid) for pid in seen)


async def test_timeout_kills_the_worker_and_the_next_call_works(jpeg: Path, endless: Path) -> None:
    async with pool(timeout_seconds=0.5) as inspector:
        pid = await warm_worker(inspector, jpeg)
        assert await inspector.inspect(endless) == Inspection(RejectionReason.DECODE_TIMEOUT)
        assert not is_running(pid)
        assert verdict(await inspector.inspect(jpeg)) == JPEG_FACTS


async def test_memory_limit_rejects_a_decode_that_needs_more(jpeg: Path, bomb: Path) -> None:
    async with pool(memory_limit_mb=256) as inspector:
        result = await inspector.inspect(bomb)
        assert result == Inspection(RejectionReason.DECODE_MEMORY_EXCEEDED)
        assert verdict(await inspector.inspect(jpeg)) == JPEG_FACTS


# --- failures of the machinery ------------------------------------------------------


async def test_a_file_whose_worker_is_killed_every_time_is_a_decoder_crash(
    inspector: ProcessPoolInspector, jpeg: Path, endless: Path
) -> None:
    await warm_worker(inspector, jpeg)
    job = asyncio.create_task(inspector.inspect(endless))
    for _ in range(3):  # the first worker and both restarts, as the OOM killer would
        async with held_open(endless):
            pid = reader_of(endless)
            os.kill(pid, signal.SIGKILL)
        await wait_until_reaped(pid)
    assert await job == Inspection(RejectionReason.DECODER_CRASH)
    assert verdict(await inspector.inspect(jpeg)) == JPEG_FACTS


async def test_a_crash_then_a_good_answer_is_the_good_answer(
    write: Callable[[str, bytes], Path], tmp_path: Path
) -> None:
    path = write("crash-once.jpg", images.jpeg_bytes())
    (tmp_path / "crash-once.jpg.armed").touch()
    async with crashing_pool() as inspector:
        assert verdict(await inspector.inspect(path)) == JPEG_FACTS
    assert not (tmp_path / "crash-once.jpg.armed").exists()  # proof that it crashed once


async def test_a_file_that_crashes_every_worker_is_rejected_not_retried_forever(
    write: Callable[[str, bytes], Path], jpeg: Path
) -> None:
    path = write("crash-always.jpg", images.jpeg_bytes())
    async with crashing_pool() as inspector:
        assert await inspector.inspect(path) == Inspection(RejectionReason.DECODER_CRASH)
        assert verdict(await inspector.inspect(jpeg)) == JPEG_FACTS
    assert (path.parent / "crashes").read_text() == "xxx"  # the first worker and 2 restarts


async def test_missing_file_is_unavailable_not_a_rejection(
    inspector: ProcessPoolInspector, tmp_path: Path
) -> None:
    with pytest.raises(BackendUnavailable, match="FileNotFoundError"):
        await inspector.inspect(tmp_path / "gone.jpg")


async def test_cancelled_call_kills_its_worker(
    inspector: ProcessPoolInspector, jpeg: Path, endless: Path
) -> None:
    pid = await warm_worker(inspector, jpeg)
    job = asyncio.create_task(inspector.inspect(endless))
    async with held_open(endless):
        job.cancel()
        with pytest.raises(asyncio.CancelledError):
            await job
    assert not is_running(pid)  # its late reply can never reach the next job
    assert verdict(await inspector.inspect(jpeg)) == JPEG_FACTS


async def test_close_stops_the_workers_and_refuses_new_calls(jpeg: Path) -> None:
    inspector = pool()
    pid = await warm_worker(inspector, jpeg)
    await inspector.close()
    assert not is_running(pid)
    with pytest.raises(BackendUnavailable, match="closed"):
        await inspector.inspect(jpeg)


@pytest.mark.parametrize(
    ("workers", "timeout_seconds", "memory_limit_mb"), [(0, 1.0, 512), (1, 0.0, 512), (1, 1.0, 64)]
)
def test_settings_out_of_range_are_refused(
    workers: int, timeout_seconds: float, memory_limit_mb: int
) -> None:
    with pytest.raises(ValueError, match="need"):
        ProcessPoolInspector(LIMITS, workers, timeout_seconds, memory_limit_mb)


# --- facts and renditions through the pool -------------------------------------------


async def test_facts_renditions_placeholder_and_hash_come_back_from_the_worker(
    write: Callable[[str, bytes], Path], tmp_path: Path
) -> None:
    tags = photos.exif(6, gps=True, taken="2024:05:01 12:30:00", make="Canon")
    path = write(
        "photo.jpg", photos.encoded(photos.quadrants(800, 600), "JPEG", exif=tags.tobytes())
    )
    folder = tmp_path / "out"
    folder.mkdir()
    spec = RenditionSpec(thumb_edge=64, preview_edge=300)
    async with ProcessPoolInspector(LIMITS, 1, 30.0, 1024, renditions=spec) as inspector:
        result = await inspector.inspect(path, folder)
    assert result.image is not None
    assert (result.image.display_width, result.image.display_height) == (600, 800)
    assert (result.image.has_location, result.image.camera_make) == (True, "Canon")
    assert result.placeholder and result.perceptual_hash is not None
    made = {r.rendition.name: r for r in result.renditions}
    assert (
        made[RenditionName.PREVIEW].rendition.width,
        made[RenditionName.PREVIEW].rendition.height,
    ) == (225, 300)
    for item in made.values():
        assert Path(item.path).parent == folder
        assert Path(item.path).stat().st_size == item.rendition.size


LYING_WORKER = """
import json, pathlib
from filegate.imaging import pool

answer = pool._answer

def lying(line, *args):
    reply = answer(line, *args)
    for item in reply["inspection"]["renditions"]:
        item["path"] = "/etc/hostname"  # a file outside the folder it was asked for
    return reply

pool._answer = lying
pool.serve_worker()
"""


async def test_a_worker_naming_a_rendition_outside_its_folder_is_not_believed(
    jpeg: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    async with ProcessPoolInspector(
        LIMITS, 1, 30.0, 1024, worker_command=LYING_WORKER
    ) as inspector:
        with pytest.raises(BackendUnavailable, match="malformed"):
            await inspector.inspect(jpeg, folder)
