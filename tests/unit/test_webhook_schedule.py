"""RetrySchedule: the day-long table of webhook retries, jitter, Retry-After, the 12 h cap."""

from __future__ import annotations

from datetime import timedelta
from random import Random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from filegate.domain.webhooks import (
    DEFAULT_RETRY_DELAYS,
    LONGEST_DELAY,
    Delivered,
    DeliveryOutcome,
    Failed,
    Gone,
    RetrySchedule,
    status_class,
)

SCHEDULE = RetrySchedule()
seeds = st.integers(min_value=0, max_value=2**32)
retries = st.integers(min_value=1, max_value=len(DEFAULT_RETRY_DELAYS))


class FixedDraw(Random):
    """A Random whose every draw in [0, 1) is ``draw`` (0: lowest jitter, ~1: highest)."""

    def __init__(self, draw: float) -> None:
        super().__init__()
        self.draw = draw

    def random(self) -> float:
        return self.draw


def test_default_schedule_spans_about_a_day_in_eight_attempts() -> None:
    assert SCHEDULE.attempts == 8
    assert SCHEDULE.span == timedelta(hours=27, minutes=35, seconds=5)
    assert SCHEDULE.delays[0] == timedelta(seconds=5)
    assert SCHEDULE.delays[-1] == timedelta(hours=10)


def test_without_jitter_each_retry_waits_its_nominal_delay() -> None:
    plain = RetrySchedule(jitter=0.0)
    delays = [plain.delay_before(n, None, Random(1)) for n in range(1, 8)]
    assert delays == list(DEFAULT_RETRY_DELAYS)


def test_jitter_bounds_are_plus_and_minus_twenty_percent() -> None:
    assert SCHEDULE.delay_before(2, None, FixedDraw(0.0)) == timedelta(minutes=4)
    assert SCHEDULE.delay_before(2, None, FixedDraw(0.5)) == timedelta(minutes=5)
    assert SCHEDULE.delay_before(4, None, FixedDraw(0.0)) == timedelta(hours=1.6)


@given(retries, seeds)
def test_every_delay_lies_within_the_jitter_of_its_nominal_delay(attempt: int, seed: int) -> None:
    nominal = DEFAULT_RETRY_DELAYS[attempt - 1]
    delay = SCHEDULE.delay_before(attempt, None, Random(seed))
    assert delay is not None
    assert nominal * 0.8 <= delay <= nominal * 1.2


def test_jitter_spreads_a_burst_of_retries() -> None:
    random = Random(7)
    delays = {SCHEDULE.delay_before(3, None, random) for _ in range(50)}
    assert len(delays) > 40


def test_after_the_last_retry_the_schedule_gives_up() -> None:
    assert SCHEDULE.delay_before(7, None, Random(1)) is not None
    assert SCHEDULE.delay_before(8, None, Random(1)) is None
    assert SCHEDULE.delay_before(1000, timedelta(seconds=1), Random(1)) is None


def test_retry_after_longer_than_the_delay_is_a_lower_bound() -> None:
    wait = SCHEDULE.delay_before(1, timedelta(minutes=2), FixedDraw(0.99))
    assert wait == timedelta(minutes=2)


def test_retry_after_shorter_than_the_delay_changes_nothing() -> None:
    with_header = SCHEDULE.delay_before(3, timedelta(seconds=1), FixedDraw(0.5))
    assert with_header == SCHEDULE.delay_before(3, None, FixedDraw(0.5)) == timedelta(minutes=30)


@given(retries, seeds, st.integers(min_value=0, max_value=10**8))
def test_no_delay_exceeds_twelve_hours(attempt: int, seed: int, retry_after: int) -> None:
    delay = SCHEDULE.delay_before(attempt, timedelta(seconds=retry_after), Random(seed))
    assert delay is not None
    assert delay <= LONGEST_DELAY == timedelta(hours=12)


def test_a_long_table_is_capped_at_twelve_hours() -> None:
    schedule = RetrySchedule(delays=(timedelta(days=2),), jitter=0.0)
    assert schedule.delay_before(1, None, Random(1)) == timedelta(hours=12)


def test_attempts_count_from_one() -> None:
    with pytest.raises(ValueError, match="from 1"):
        SCHEDULE.delay_before(0, None, Random(1))


@pytest.mark.parametrize("jitter", [-0.1, 1.0, 2.0])
def test_jitter_outside_zero_to_one_is_refused(jitter: float) -> None:
    with pytest.raises(ValueError, match="jitter"):
        RetrySchedule(jitter=jitter)


def test_negative_delays_are_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        RetrySchedule(delays=(timedelta(seconds=-1),))


@pytest.mark.parametrize(
    ("outcome", "label"),
    [
        (Delivered(204, 0.1), "2xx"),
        (Gone(410, 0.1), "4xx"),
        (Failed(429, "HTTP 429", 0.1, timedelta(seconds=3)), "4xx"),
        (Failed(503, "HTTP 503", 0.1), "5xx"),
        (Failed(302, "HTTP 302", 0.1), "3xx"),
        (Failed(None, "no complete answer", 0.5, timed_out=True), "timeout"),
        (Failed(None, "ConnectError: refused", 0.0), "error"),
        (Failed(None, "address refused: 10.0.0.1 is private", 0.0), "error"),
    ],
)
def test_status_class_labels_each_outcome(outcome: DeliveryOutcome, label: str) -> None:
    assert status_class(outcome) == label
