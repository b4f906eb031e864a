"""Inspect images in a bounded set of killable worker processes (the ``ImageInspector`` port).

Design: up to ``workers`` long-lived worker processes, each a fresh Python interpreter
started with asyncio's subprocess support, each running one :func:`~filegate.imaging.inspect.
inspect_path` at a time. The parent sends a request line and reads a reply line (JSON)
over the worker's pipes; an ``asyncio.Semaphore`` holds concurrency at ``workers``.

- Time: the reply is awaited under ``timeout_seconds``; past it, that one worker is
  SIGKILLed and reaped (so it burns no more CPU), the answer is ``DECODE_TIMEOUT``, and a
  fresh worker replaces it on a later call.
- Memory: each worker caps its own address space (``RLIMIT_AS``) at start; a decode that
  needs more gets ``MemoryError``, answered as ``DECODE_MEMORY_EXCEEDED``. That worker is
  then retired, as is every worker after ``_JOBS_PER_WORKER`` jobs, to bound fragmentation
  and leaks in the decoders.
- Crash: a worker that dies while decoding is discarded and the same file is tried again in
  a fresh worker, up to ``_CRASH_RESTARTS`` times; a file that kills every one of them is
  the file's fault: ``DECODER_CRASH``. A worker that answers nonsense, or cannot start,
  raises ``BackendUnavailable`` (never a rejection). A cancelled call kills its worker
  too, so no stale reply reaches the next job.

Why not the alternatives:

- ``ProcessPoolExecutor`` cannot stop a running task; killing one of its processes breaks
  the whole pool and fails every job in flight.
- One ``multiprocessing`` process per job (forkserver or spawn) re-imports the parent's
  ``__main__`` in every child (on Python 3.11 the forkserver's ``__main__`` preload does not
  take effect): about 0.4 s per image under a console script that imports the web stack.
  And ``Connection.recv`` unpickles what the child sends, while the child is exactly the
  process parsing hostile bytes; here the parent only parses small, validated JSON.

A worker is a new interpreter (fork + exec), so nothing of the threaded asyncio parent is
inherited (locks, threads, event loop). It pays the Pillow import once (~0.1 s) at start,
and exits by itself when its stdin closes, e.g. when the parent dies.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import faulthandler
import json
import os
import resource
import signal
import sys
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self, TypeVar

from filegate.domain.errors import BackendUnavailable
from filegate.domain.models import (
    ImageInfo,
    Inspection,
    RejectionReason,
    Rendition,
    RenditionFile,
    RenditionName,
)
from filegate.imaging import lifeline
from filegate.imaging.inspect import ImageLimits, inspect_path, prepare_pillow
from filegate.imaging.renditions import RenditionSpec

_JOBS_PER_WORKER = 500
_STARTUP_TIMEOUT_SECONDS = 30.0
_MIN_MEMORY_MB = 128
"""Below this an interpreter with Pillow loaded cannot work at all: every file would fail."""
_REPLY_LIMIT = 64 * 1024
"""Longest reply line accepted from a worker (a real one is a few hundred bytes)."""
_WORKER_COMMAND = "from filegate.imaging.pool import serve_worker; serve_worker()"
_CRASH_RESTARTS = 2
"""Fresh workers tried for a file after the one it crashed: then it is ``DECODER_CRASH``."""
_MAX_TEXT = 200
_MAX_PLACEHOLDER = 120

_T = TypeVar("_T")


class ProcessPoolInspector:
    """An :class:`~filegate.domain.ports.ImageInspector` running decodes in worker processes.

    At most ``workers`` decodes (and worker processes) at a time. Each decode gets
    ``timeout_seconds``; each worker ``memory_limit_mb`` of address space, of which the
    interpreter with Pillow loaded takes about 60 MB. Workers start on first use. The
    inspector belongs to the event loop that first uses it; call :meth:`close` (or use
    ``async with``) to stop the workers.
    """

    def __init__(
        self,
        limits: ImageLimits,
        workers: int,
        timeout_seconds: float,
        memory_limit_mb: int,
        *,
        renditions: RenditionSpec | None = None,
        worker_command: str = _WORKER_COMMAND,
    ) -> None:
        if workers < 1 or timeout_seconds <= 0 or memory_limit_mb < _MIN_MEMORY_MB:
            raise ValueError(
                f"need workers >= 1, timeout_seconds > 0, memory_limit_mb >= {_MIN_MEMORY_MB}"
            )
        self._config = json.dumps(
            {
                "limits": dataclasses.asdict(limits),
                "renditions": dataclasses.asdict(renditions or RenditionSpec()),
                "memory_limit_mb": memory_limit_mb,
            }
        )
        self._command = worker_command
        self._timeout = timeout_seconds
        self._slots = asyncio.Semaphore(workers)
        self._idle: list[_Worker] = []
        self._busy: set[_Worker] = set()
        self._closed = False

    async def inspect(self, path: Path, renditions_dir: Path | None = None) -> Inspection:
        """What the bytes at ``path`` are (and, with ``renditions_dir``, its renditions
        written there); raises ``BackendUnavailable`` if a worker fails."""
        request = _Request(path, renditions_dir)
        async with self._slots:
            for _ in range(_CRASH_RESTARTS):
                try:
                    return await self._inspect_once(request)
                except _WorkerDied:
                    continue  # perhaps not the file: try it once more in a fresh worker
            try:
                return await self._inspect_once(request)
            except _WorkerDied:
                return Inspection(RejectionReason.DECODER_CRASH)

    async def _inspect_once(self, request: _Request) -> Inspection:
        worker = await self._acquire()
        try:
            inspection = await self._ask_in_time(worker, request)
        except BaseException:
            await self._discard(worker)
            raise
        await self._release(worker, inspection)
        return inspection

    async def close(self) -> None:
        """Stop every worker; calls in flight raise ``BackendUnavailable``. Idempotent."""
        self._closed = True
        workers = [*self._idle, *self._busy]
        self._idle.clear()
        await asyncio.gather(*(self._discard(worker) for worker in workers))

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def _acquire(self) -> _Worker:
        """An idle live worker, or a newly started one; marked busy."""
        if self._closed:
            raise BackendUnavailable("the image inspector is closed")
        while self._idle:
            worker = self._idle.pop()
            if worker.alive:
                self._busy.add(worker)
                return worker
            await self._discard(worker)  # died while idle: not this job's problem
        worker = await _Worker.start(self._command, self._config)
        self._busy.add(worker)
        return worker

    async def _ask_in_time(self, worker: _Worker, request: _Request) -> Inspection:
        try:
            async with asyncio.timeout(self._timeout):
                return await worker.ask(request)
        except TimeoutError:
            await self._discard(worker)
            return Inspection(RejectionReason.DECODE_TIMEOUT)

    async def _release(self, worker: _Worker, inspection: Inspection) -> None:
        self._busy.discard(worker)
        retire = (
            self._closed
            or not worker.alive
            or worker.jobs >= _JOBS_PER_WORKER
            or inspection.reason is RejectionReason.DECODE_MEMORY_EXCEEDED
        )
        if retire:
            await self._discard(worker)
        else:
            self._idle.append(worker)

    async def _discard(self, worker: _Worker) -> None:
        self._busy.discard(worker)
        await worker.stop()


class _WorkerDied(BackendUnavailable):
    """The worker process ended without answering (a crash, or a kill from outside)."""


@dataclasses.dataclass(frozen=True)
class _Request:
    path: Path
    renditions_dir: Path | None

    def line(self) -> bytes:
        folder = self.renditions_dir
        message = {
            "path": os.fspath(self.path.absolute()),
            "renditions_dir": None if folder is None else os.fspath(folder.absolute()),
        }
        return (json.dumps(message) + "\n").encode()


@dataclasses.dataclass(eq=False)
class _Worker:
    """One worker process and the number of jobs it has answered."""

    process: asyncio.subprocess.Process
    jobs: int = 0

    @classmethod
    async def start(cls, command: str, config: str) -> _Worker:
        """Start a worker and wait until it says it is ready (imports done, limits set)."""
        try:
            process = await asyncio.create_subprocess_exec(
                *(sys.executable, "-c", command, config),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                env=_worker_environment(),
                limit=_REPLY_LIMIT,
            )
        except OSError as exc:
            raise BackendUnavailable("cannot start an image worker process") from exc
        worker = cls(process)
        try:
            async with asyncio.timeout(_STARTUP_TIMEOUT_SECONDS):
                ready = await worker._read_reply()
        except BaseException:
            await worker.stop()
            raise
        if ready != {"ready": True}:
            await worker.stop()
            raise BackendUnavailable("image worker process did not start properly")
        return worker

    @property
    def alive(self) -> bool:
        return self.process.returncode is None

    async def ask(self, request: _Request) -> Inspection:
        """Have the worker inspect a file; ``_WorkerDied`` if it dies doing so,
        ``BackendUnavailable`` unless it answers sanely."""
        stdin = self.process.stdin
        assert stdin is not None
        try:
            stdin.write(request.line())
            await stdin.drain()
        except OSError as exc:  # broken pipe: it died
            raise BackendUnavailable(f"image worker {self.process.pid} is gone") from exc
        reply = await self._read_reply()
        self.jobs += 1
        return _inspection_from_reply(reply, request.renditions_dir)

    async def _read_reply(self) -> Mapping[str, Any]:
        stdout = self.process.stdout
        assert stdout is not None
        try:
            line = await stdout.readline()
            reply = json.loads(line) if line.endswith(b"\n") else None
        except (OSError, ValueError) as exc:  # a broken pipe, an over-long line, not JSON
            raise BackendUnavailable(f"image worker {self.process.pid} failed to answer") from exc
        if not isinstance(reply, dict):
            raise _WorkerDied(f"image worker {self.process.pid} stopped without answering")
        return reply

    async def stop(self) -> None:
        """Kill the process (if still running) and reap it. Idempotent."""
        if self.alive:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
        if self.process.stdin is not None:
            self.process.stdin.close()
        await self.process.wait()


def _worker_environment() -> dict[str, str]:
    # The worker must import filegate exactly as this process does, installed or not.
    search_path = [entry for entry in sys.path if entry and Path(entry).is_absolute()]
    # One thread per library: each worker is one CPU slot, and every thread's buffers
    # (OpenBLAS reserves tens of MB each) would count against the address-space limit.
    single_threaded = dict.fromkeys(
        ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "VIPS_CONCURRENCY"), "1"
    )
    return {**os.environ, **single_threaded, "PYTHONPATH": os.pathsep.join(search_path)}


def _inspection_from_reply(reply: Mapping[str, Any], folder: Path | None) -> Inspection:
    """The worker's answer, type-checked: its process parses hostile bytes, so trust little.

    Rendition files must be where they were asked for (inside ``folder``) and as large as
    the worker says.
    """
    if "error" in reply:
        raise BackendUnavailable(f"image inspection failed: {reply['error']}")
    try:
        data = reply["inspection"]
        reason, image = data["reason"], data["image"]
        return Inspection(
            reason=None if reason is None else RejectionReason(reason),
            content_type=_optional(str, data["content_type"]),
            image=None if image is None else _image_from_json(image),
            placeholder=_bounded(_optional(str, data["placeholder"]), _MAX_PLACEHOLDER),
            perceptual_hash=_hash_from_json(data["perceptual_hash"]),
            renditions=tuple(_rendition_from_json(item, folder) for item in data["renditions"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise BackendUnavailable("image worker sent a malformed answer") from exc


def _image_from_json(data: Mapping[str, Any]) -> ImageInfo:
    dpi = data["dpi"]
    return ImageInfo(
        format=_of(str, data["format"]),
        width=_of(int, data["width"]),
        height=_of(int, data["height"]),
        orientation=_of(int, data["orientation"]),
        mode=_of(str, data["mode"]),
        frames=_of(int, data["frames"]),
        animated=_flag(data["animated"]),
        bit_depth=_optional(int, data["bit_depth"]),
        cmyk=_flag(data["cmyk"]),
        icc_embedded=_flag(data["icc_embedded"]),
        icc_description=_bounded(_optional(str, data["icc_description"]), _MAX_TEXT),
        dpi=None if dpi is None else (_number(dpi[0]), _number(dpi[1])),
        captured_at=_bounded(_optional(str, data["captured_at"]), _MAX_TEXT),
        camera_make=_bounded(_optional(str, data["camera_make"]), _MAX_TEXT),
        camera_model=_bounded(_optional(str, data["camera_model"]), _MAX_TEXT),
        has_location=_flag(data["has_location"]),
    )


def _rendition_from_json(data: Mapping[str, Any], folder: Path | None) -> RenditionFile:
    path = Path(_of(str, data["path"]))
    if folder is None or path.parent != folder.absolute() or not path.is_file():
        raise ValueError("a rendition outside the folder it was asked for")
    item = data["rendition"]
    rendition = Rendition(
        name=RenditionName(item["name"]),
        content_type=_of(str, item["content_type"]),
        width=_of(int, item["width"]),
        height=_of(int, item["height"]),
        size=_of(int, item["size"]),
    )
    if path.stat().st_size != rendition.size:
        raise ValueError("a rendition whose size is not what the worker says")
    return RenditionFile(rendition=rendition, path=os.fspath(path))


def _hash_from_json(value: object) -> int | None:
    if value is None:
        return None
    number = _of(int, value)
    if not 0 <= number < 1 << 64:
        raise ValueError("a perceptual hash is 64 bits")
    return number


def _optional(kind: type[_T], value: object) -> _T | None:
    return None if value is None else _of(kind, value)


def _bounded(value: str | None, limit: int) -> str | None:
    if value is not None and len(value) > limit:
        raise ValueError("an over-long text in the answer")
    return value


def _flag(value: object) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"expected bool, got {type(value).__name__}")
    return value


def _number(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"expected a number, got {type(value).__name__}")
    return float(value)


def _of(kind: type[_T], value: object) -> _T:
    if not isinstance(value, kind) or isinstance(value, bool):  # a bool is not a width
        raise TypeError(f"expected {kind.__name__}, got {type(value).__name__}")
    return value


# --- inside the worker process -----------------------------------------------------


def serve_worker() -> None:
    """Entry point of a worker process: answer inspection requests until stdin closes.

    ``sys.argv[1]`` holds the JSON configuration. Replies go to the original stdout; fd 1
    is pointed at stderr so that stray output from C libraries cannot corrupt them.
    """
    lifeline.bind_to_parent()
    faulthandler.enable()  # a crash in a decoder leaves a traceback on stderr
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the parent, which stops us
    config = json.loads(sys.argv[1])
    limits = _limits_from_json(config["limits"])
    spec = RenditionSpec(**config["renditions"])
    replies = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    prepare_pillow()
    _limit_address_space(config["memory_limit_mb"])
    with lifeline.quiet_when_orphaned():
        _send(replies, {"ready": True})
        for line in sys.stdin.buffer:
            _send(replies, _answer(line, limits, spec))


def _limits_from_json(data: Mapping[str, Any]) -> ImageLimits:
    return ImageLimits(
        allowed_types=tuple(data["allowed_types"]),
        max_pixels=data["max_pixels"],
        max_frames=data["max_frames"],
        strict=data["strict"],
    )


def _answer(line: bytes, limits: ImageLimits, spec: RenditionSpec) -> dict[str, Any]:
    try:
        request = json.loads(line)
        folder = request["renditions_dir"]
        inspection = inspect_path(
            Path(request["path"]), limits, spec, None if folder is None else Path(folder)
        )
    except MemoryError:
        inspection = Inspection(RejectionReason.DECODE_MEMORY_EXCEEDED)
    except Exception as exc:  # reported to the parent, which raises BackendUnavailable
        return {"error": f"{type(exc).__name__}: {exc}"[:500]}
    return {"inspection": dataclasses.asdict(inspection)}


def _send(replies: IO[str], message: Mapping[str, Any]) -> None:
    replies.write(json.dumps(message) + "\n")
    replies.flush()


def _limit_address_space(megabytes: int) -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    soft = megabytes * 1024 * 1024
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
