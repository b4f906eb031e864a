"""RetrySchedule: the day-long table of webhook retries by the event's age, jitter,
Retry-After, the 12 h cap."""

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


class FixedUniform(Random):
    """A Random whose uniform draws are ``value``, kept within the range asked for."""

    def __init__(self, value: float) -> None:
        super().__init__(0)
        self.value = value

    def uniform(self, a: float, b: float) -> float:
        return min(max(self.value, a), b)


def test_default_schedule_spans_about_a_day_in_eight_attempts() -> None:
    assert SCHEDULE.attempts == 8
    assert SCHEDULE.span == timedelta(hours=27, minutes=35, seconds=5)
    assert SCHEDULE.delays[0] == timedelta(seconds=5)
    assert SCHEDULE.delays[-1] == timedelta(hours=10)


def offset(attempt: int) -> timedelta:
    """How old the event is when retry ``attempt`` (1: the first retry) is due, nominally."""
    return sum(DEFAULT_RETRY_DELAYS[:attempt], timedelta(0))


def test_without_jitter_each_retry_waits_its_nominal_delay() -> None:
    plain = RetrySchedule(jitter=0.0)
    waits = [plain.delay_at(offset(n - 1), None, Random(1)) for n in range(1, 8)]
    assert waits == list(DEFAULT_RETRY_DELAYS)


@pytest.mark.parametrize(
    ("age", "expected"),
    [
        (timedelta(0), timedelta(seconds=5)),  # the first retry 5 s after the event
        (timedelta(seconds=2), timedelta(seconds=3)),
        (timedelta(seconds=5), timedelta(minutes=5)),  # exactly at an offset: the next one
        (timedelta(seconds=6), timedelta(seconds=299)),
        (timedelta(seconds=305), timedelta(minutes=30)),
    ],
)
def test_the_next_attempt_is_due_at_the_next_offset_past_the_events_age(
    age: timedelta, expected: timedelta
) -> None:
    assert RetrySchedule(jitter=0.0).delay_at(age, None, Random(1)) == expected


def test_jitter_bounds_are_plus_and_minus_twenty_percent_of_the_step() -> None:
    at_second = offset(1)  # waiting for retry 2, whose step is 5 min
    assert SCHEDULE.delay_at(at_second, None, FixedUniform(-1.0)) == timedelta(minutes=4)
    assert SCHEDULE.delay_at(at_second, None, FixedUniform(1.0)) == timedelta(minutes=6)
    assert SCHEDULE.delay_at(offset(3), None, FixedUniform(-1.0)) == timedelta(hours=1.6)


@given(retries, seeds)
def test_every_wait_lies_within_the_jitter_of_its_nominal_delay(attempt: int, seed: int) -> None:
    nominal = DEFAULT_RETRY_DELAYS[attempt - 1]
    wait = SCHEDULE.delay_at(offset(attempt - 1), None, Random(seed))
    assert wait is not None
    assert nominal * 0.8 <= wait <= nominal * 1.2


def test_jitter_spreads_a_burst_of_retries() -> None:
    random = Random(7)
    waits = {SCHEDULE.delay_at(offset(2), None, random) for _ in range(50)}
    assert len(waits) > 40


def test_past_the_schedule_the_delivery_is_given_up() -> None:
    last_early = offset(7) - DEFAULT_RETRY_DELAYS[-1] * 0.2  # the last attempt, jittered early
    assert SCHEDULE.delay_at(last_early - timedelta(seconds=1), None, Random(1)) is not None
    assert SCHEDULE.delay_at(last_early, None, Random(1)) is None
    assert SCHEDULE.delay_at(offset(7), None, Random(1)) is None
    assert SCHEDULE.delay_at(timedelta(days=30), timedelta(seconds=1), Random(1)) is None


def test_retry_after_longer_than_the_wait_is_a_lower_bound() -> None:
    wait = SCHEDULE.delay_at(timedelta(0), timedelta(minutes=2), FixedUniform(1.0))
    assert wait == timedelta(minutes=2)


def test_retry_after_shorter_than_the_wait_changes_nothing() -> None:
    with_header = SCHEDULE.delay_at(offset(2), timedelta(seconds=1), FixedUniform(0.0))
    assert with_header == SCHEDULE.delay_at(offset(2), None, FixedUniform(0.0))
    assert with_header == timedelta(minutes=30)


@given(retries, seeds, st.integers(min_value=0, max_value=10**8))
def test_no_wait_exceeds_twelve_hours(attempt: int, seed: int, retry_after: int) -> None:
    wait = SCHEDULE.delay_at(offset(attempt - 1), timedelta(seconds=retry_after), Random(seed))
    assert wait is not None
    assert wait <= LONGEST_DELAY == timedelta(hours=12)


def test_a_long_table_is_capped_at_twelve_hours() -> None:
    schedule = RetrySchedule(delays=(timedelta(days=2),), jitter=0.0)
    assert schedule.delay_at(timedelta(0), None, Random(1)) == timedelta(hours=12)


def test_an_attempt_jittered_early_counts_as_the_one_due_then() -> None:
    """Retry 1 (due at 5 s) made early, at 4.5 s: the next is retry 2, not retry 1 again."""
    wait = SCHEDULE.delay_at(timedelta(seconds=4.5), None, FixedUniform(0.0))
    assert wait == offset(2) - timedelta(seconds=4.5)


@given(st.floats(min_value=0, max_value=offset(7).total_seconds()), seeds)
def test_a_wait_is_never_negative(age: float, seed: int) -> None:
    wait = SCHEDULE.delay_at(timedelta(seconds=age), None, Random(seed))
    assert wait is None or wait >= timedelta(0)


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
