"""The benchmarks by name, in the order ``make bench`` runs them."""

from __future__ import annotations

from collections.abc import Callable

from bench import (
    batch_cost,
    decoders,
    e2e,
    presign,
    queue,
    register,
    register_batch,
    similar,
    store_put,
    verify,
)
from bench.harness import Result

Benchmark = Callable[[bool], list[Result]]
"""Runs one benchmark (``True``: quick smoke sizes) and returns its report rows."""

BENCHMARKS: dict[str, Benchmark] = {
    "store_put": store_put.run,
    "register": register.run,
    "register_batch": register_batch.run,
    "queue": queue.run,
    "verify": verify.run,
    "decoders": decoders.run,
    "presign": presign.run,
    "similar": similar.run,
    "e2e": e2e.run,
    "batch_cost": batch_cost.run,
}
