"""``decoders``: how many damaged JPEGs each candidate decoder path catches, and its speed.

The corpus (:mod:`bench.corpus`) is seeded damage of valid photo-like JPEGs: byte and bit
flips, zeroed runs, bad restart markers, truncation and spliced data. A candidate
"catches" a file when it raises while decoding it. Every candidate must also accept all
the valid originals (a false rejection of a real photo is costly too); the rows say how
many it refused. Baseline: Pillow with the 1/8 draft, the decode filegate used before.
"""

from __future__ import annotations

import io
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import pyvips
from PIL import Image

from bench.corpus import Damaged, damaged, originals
from bench.harness import Result

Decoder = Callable[[bytes], None]
"""Decodes the bytes in full; raises when it finds the data damaged."""


@dataclass(frozen=True)
class _Score:
    caught: int
    total: int
    by_kind: dict[str, tuple[int, int]]
    false_rejections: int
    ms_per_file: float


def _pillow(scale: int) -> Decoder:
    def decode(data: bytes) -> None:
        with Image.open(io.BytesIO(data)) as im:
            if scale > 1:
                im.draft("RGB", (im.width // scale, im.height // scale))
            im.load()

    return decode


def _vips(fail_on: str, shrink: int = 1) -> Decoder:
    def decode(data: bytes) -> None:
        image = pyvips.Image.new_from_buffer(
            data, "", access="sequential", fail_on=fail_on, shrink=shrink
        )
        image.copy_memory()

    return decode


CANDIDATES: dict[str, Decoder] = {
    "Pillow, draft 1/8": _pillow(8),
    "Pillow, full size": _pillow(1),
    "libvips fail_on=truncated": _vips("truncated"),
    "libvips fail_on=error": _vips("error"),
    "libvips fail_on=warning, shrink 2": _vips("warning", 2),
    "libvips fail_on=warning": _vips("warning"),
}
CHOSEN = "libvips fail_on=warning, shrink 2"
"""What filegate runs in strict mode (the default) for a 12 MP photo with a 1600 px preview."""
BASELINE = "Pillow, draft 1/8"


def run(quick: bool) -> list[Result]:
    pyvips.cache_set_max(0)
    corpus = list(damaged(per_kind=4 if quick else 60))
    valid = originals()
    scores = {name: _score(decode, corpus, valid) for name, decode in CANDIDATES.items()}
    base = scores[BASELINE]
    return [
        Result(
            f"caught: {name}",
            "% of damaged",
            100 * score.caught / score.total,
            100 * base.caught / base.total,
            f"{BASELINE}; {score.total} damaged files; {_kinds(score)}; "
            f"valid refused {score.false_rejections}/{len(valid)}; {score.ms_per_file:.1f} ms/file",
        )
        for name, score in scores.items()
    ]


def _score(decode: Decoder, corpus: list[Damaged], valid: list[bytes]) -> _Score:
    caught, totals = Counter[str](), Counter[str]()
    started = time.perf_counter()
    for item in corpus:
        totals[item.kind] += 1
        caught[item.kind] += _raises(decode, item.data)
    elapsed = time.perf_counter() - started
    return _Score(
        caught=sum(caught.values()),
        total=len(corpus),
        by_kind={kind: (caught[kind], totals[kind]) for kind in totals},
        false_rejections=sum(_raises(decode, data) for data in valid),
        ms_per_file=1000 * elapsed / len(corpus),
    )


def _raises(decode: Decoder, data: bytes) -> bool:
    try:
        decode(data)
    except (OSError, SyntaxError, ValueError, pyvips.Error):
        return True
    return False


def _kinds(score: _Score) -> str:
    return ", ".join(f"{kind} {c}/{t}" for kind, (c, t) in score.by_kind.items())
