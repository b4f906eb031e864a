"""Quota rules: what each state counts for, and which limit a registration runs into."""

from __future__ import annotations

import itertools

import pytest

from filegate.domain.errors import ErrorCode
from filegate.domain.quotas import (
    QuotaExceeded,
    QuotaKind,
    QuotaLimits,
    Usage,
    admission,
    usage_change,
    usage_of,
)
from filegate.domain.states import FileState, can_transition

SIZE = 100


@pytest.mark.parametrize(
    ("state", "usage"),
    [
        (FileState.REGISTERED, Usage(1, 1, SIZE)),
        (FileState.UPLOADED, Usage(1, 1, SIZE)),
        (FileState.READY, Usage(0, 1, SIZE)),
        (FileState.REJECTED, Usage()),
        (FileState.EXPIRED, Usage()),
        (FileState.DELETED, Usage()),
    ],
)
def test_what_a_file_counts_for_in_each_state(state: FileState, usage: Usage) -> None:
    assert usage_of(state, SIZE) == usage


def test_every_allowed_path_releases_exactly_what_was_counted() -> None:
    """Summing the changes along any path from REGISTERED gives the final state's count."""
    paths = [
        [FileState.REGISTERED, FileState.UPLOADED, FileState.READY, FileState.DELETED],
        [FileState.REGISTERED, FileState.UPLOADED, FileState.REJECTED, FileState.DELETED],
        [FileState.REGISTERED, FileState.EXPIRED, FileState.DELETED],
        [FileState.REGISTERED, FileState.READY],
    ]
    for path in paths:
        total = usage_of(path[0], SIZE)
        for before, after in itertools.pairwise(path):
            assert can_transition(before, after)
            total += usage_change(before, after, SIZE)
        assert total == usage_of(path[-1], SIZE)


def test_unlimited_admits_anything() -> None:
    assert admission(Usage(10**6, 10**6, 10**15), QuotaLimits(), 10**9) is None


def test_a_file_that_just_fits_is_admitted() -> None:
    limits = QuotaLimits(max_pending=2, max_files=3, max_bytes=300)
    assert admission(Usage(1, 2, 200), limits, 100) is None


@pytest.mark.parametrize(
    ("usage", "kind", "limit", "current", "code"),
    [
        (Usage(0, 3, 0), QuotaKind.FILES, 3, 3, ErrorCode.QUOTA_EXCEEDED),
        (Usage(0, 0, 250), QuotaKind.BYTES, 300, 250, ErrorCode.QUOTA_EXCEEDED),
        (Usage(2, 2, 0), QuotaKind.PENDING, 2, 2, ErrorCode.TOO_MANY_PENDING),
        (Usage(2, 3, 300), QuotaKind.FILES, 3, 3, ErrorCode.QUOTA_EXCEEDED),
    ],
    ids=["files", "bytes", "pending", "hard-limits-first"],
)
def test_the_limit_run_into_is_named_with_its_usage(
    usage: Usage, kind: QuotaKind, limit: int, current: int, code: ErrorCode
) -> None:
    refusal = admission(usage, QuotaLimits(max_pending=2, max_files=3, max_bytes=300), 100)
    assert isinstance(refusal, QuotaExceeded)
    assert (refusal.kind, refusal.code) == (kind, code)
    assert refusal.extra == {"quota": kind.value, "limit": limit, "usage": current}
