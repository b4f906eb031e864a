"""The decode-bound limit of end-to-end verification: the same files, no service around them.

Two processes (the cores filegate's servers get) each read a file, hash it with SHA-256
and run filegate's own verifying decode on it (:func:`filegate.imaging.jpeg.decode_displayed`
with the strictness and edge of the default settings: libvips, ``fail_on="warning"``,
shrink-on-load to the preview's size, or with renditions off to the perceptual hash's).
No HTTP, database, queue, renditions or facts.

:func:`inspection_rate` is the same pool running filegate's whole inspection
(:func:`filegate.imaging.inspect.inspect_path`: decode, facts, placeholder, hash and the
two renditions), the work a worker cannot skip.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from functools import cache, partial
from pathlib import Path

from bench.harness import per_second
from filegate.bootstrap.policies import DecodePool, decode_pool
from filegate.config import Settings
from filegate.imaging import jpeg
from filegate.imaging.inspect import inspect_path, prepare_pillow

PROCESSES = 2
_CHUNK = 4


@cache
def _policy(renditions: bool = True) -> DecodePool:
    """The decode settings every filegate process starts with by default (with
    ``FILEGATE_RENDITIONS=false`` when ``renditions`` is false)."""
    return decode_pool(Settings(renditions=renditions))


def decode_rate(paths: Sequence[Path], renditions: bool = True) -> float:
    """Files/s through SHA-256 + filegate's verifying decode in a pool of two processes.

    The decode is the one the worker runs with ``renditions`` on or off: with them off,
    libvips shrinks on load to the perceptual hash's edge instead of the preview's.
    """
    return _rate(partial(_hash_and_decode, renditions), paths)


def inspection_rate(paths: Sequence[Path]) -> float:
    """Files/s through SHA-256 + filegate's whole inspection (renditions to a temp folder)."""
    with tempfile.TemporaryDirectory(prefix="bench-e2e-inspect-") as out:
        return _rate(partial(_hash_and_inspect, Path(out)), paths)


def _rate(work: Callable[[Path], None], paths: Sequence[Path]) -> float:
    # Spawned, not forked: earlier benchmarks of the same run have started libvips's
    # threads in this process, and a forked child's decode then waits on them for ever.
    spawned = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(PROCESSES, mp_context=spawned, initializer=prepare_pillow) as pool:
        list(pool.map(work, paths[:PROCESSES]))  # warm-up: imports, plugins, first decode
        started = time.perf_counter()
        list(pool.map(work, paths, chunksize=_CHUNK))
        return per_second(len(paths), time.perf_counter() - started)


def _sha256(path: Path) -> str:
    with path.open("rb") as fp:
        return hashlib.file_digest(fp, "sha256").hexdigest()


def _hash_and_decode(renditions: bool, path: Path) -> None:
    policy = _policy(renditions)
    _sha256(path)
    jpeg.decode_displayed(path, strict=policy.limits.strict, edge=policy.renditions.largest_edge)


def _hash_and_inspect(out: Path, path: Path) -> None:
    policy = _policy()
    _sha256(path)
    renditions = out / path.stem
    renditions.mkdir(exist_ok=True)
    inspection = inspect_path(path, policy.limits, policy.renditions, renditions)
    if inspection.reason is not None:
        raise RuntimeError(f"{path.name} was rejected: {inspection.reason}")
