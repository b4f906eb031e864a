"""RetryPolicy: capped exponential backoff with equal jitter."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from filegate.worker.retry import SQS_MAX_VISIBILITY, RetryPolicy

POLICY = RetryPolicy(base=timedelta(seconds=2), cap=timedelta(seconds=300))

attempts = st.integers(min_value=1, max_value=10_000)
draws = st.floats(min_value=0.0, max_value=1.0, exclude_max=True)


def test_first_retry_lies_between_half_base_and_base() -> None:
    assert POLICY.delay(1, lambda: 0.0) == timedelta(seconds=1)
    assert POLICY.delay(1, lambda: 0.5) == timedelta(seconds=1.5)


def test_each_attempt_doubles_the_step_until_the_cap() -> None:
    steps = [POLICY.step(n).total_seconds() for n in range(1, 11)]
    assert steps == [2, 4, 8, 16, 32, 64, 128, 256, 300, 300]


@given(attempts, draws)
def test_delay_lies_within_half_step_and_step(attempt: int, draw: float) -> None:
    step = POLICY.step(attempt)
    delay = POLICY.delay(attempt, lambda: draw)
    assert step / 2 <= delay <= step
    assert timedelta(0) <= delay <= POLICY.cap


@given(attempts, draws)
def test_delay_never_decreases_with_the_attempt(attempt: int, draw: float) -> None:
    assert POLICY.delay(attempt, lambda: draw) <= POLICY.delay(attempt + 1, lambda: draw)


@given(st.integers(min_value=1, max_value=10**9), draws)
def test_cap_is_respected_for_any_attempt(attempt: int, draw: float) -> None:
    assert POLICY.delay(attempt, lambda: draw) <= timedelta(seconds=300)


@given(attempts, draws)
def test_delay_never_exceeds_the_sqs_visibility_limit(attempt: int, draw: float) -> None:
    policy = RetryPolicy(base=timedelta(hours=1), cap=timedelta(days=7))
    assert policy.ceiling == SQS_MAX_VISIBILITY == timedelta(hours=12)
    assert policy.delay(attempt, lambda: draw) <= timedelta(hours=12)


@pytest.mark.parametrize("draw", [-3.0, 1.0, 7.5])
def test_out_of_range_draws_are_clamped(draw: float) -> None:
    delay = POLICY.delay(3, lambda: draw)
    assert timedelta(seconds=4) <= delay <= timedelta(seconds=8)


def test_zero_base_never_waits() -> None:
    policy = RetryPolicy(base=timedelta(0), cap=timedelta(seconds=5))
    assert policy.delay(50, lambda: 0.99) == timedelta(0)


def test_attempts_count_from_one() -> None:
    with pytest.raises(ValueError, match="from 1"):
        POLICY.delay(0, lambda: 0.5)


def test_negative_durations_are_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        RetryPolicy(base=timedelta(seconds=-1), cap=timedelta(seconds=5))
