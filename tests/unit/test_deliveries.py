"""Delivery messages and their age-based retry schedule."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from random import Random

import pytest

from filegate.domain.deliveries import (
    LONGEST_DELAY,
    Delivery,
    encode_delivery,
    next_retry,
    parse_delivery,
)
from filegate.domain.errors import PoisonMessage
from filegate.domain.events import EventType, make_event

S = timedelta(seconds=1)
DELAYS = (5 * S, 300 * S, 1800 * S)


def delivery(trace_parent: str | None = None) -> Delivery:
    event = make_event(
        EventType.FILE_READY,
        owner="user:alice",
        subject="f1",
        occurred_at=datetime(2026, 12, 3, 10, 0, 0, 123456, tzinfo=UTC),
        data={"id": "f1", "name": "Café ☀"},
    )
    return (
        Delivery.of(event, "orders")
        if trace_parent is None
        else Delivery("orders", event.id, event.type, event.occurred_at, event.body, trace_parent)
    )


@pytest.mark.parametrize("trace_parent", [None, "00-" + "a" * 32 + "-" + "b" * 16 + "-01"])
def test_a_delivery_round_trips_through_its_queue_body(trace_parent: str | None) -> None:
    original = delivery(trace_parent)
    assert parse_delivery(encode_delivery(original)) == original


@pytest.mark.parametrize(
    "body",
    [
        "{not json",
        "[]",
        json.dumps({"v": 2, "type": "webhook.deliver"}),
        json.dumps({"v": 1, "type": "object.created"}),
        json.dumps({"v": 1, "type": "webhook.deliver", "endpoint": "orders"}),
        encode_delivery(delivery()).replace('"file.ready"', '"file.exploded"'),
        encode_delivery(delivery()).replace('"orders"', '""'),
    ],
)
def test_anything_else_is_a_poison_message(body: str) -> None:
    with pytest.raises(PoisonMessage):
        parse_delivery(body)


class Fixed(Random):
    """A Random whose uniform draws are always ``value`` (clamped to the range)."""

    def __init__(self, value: float) -> None:
        super().__init__(0)
        self.value = value

    def uniform(self, a: float, b: float) -> float:
        return min(max(self.value, a), b)


@pytest.mark.parametrize(
    ("age", "expected"),
    [
        (0 * S, 5 * S),  # the first retry 5 s after the event
        (2 * S, 3 * S),
        (5 * S, 300 * S),  # exactly at an offset: the next one
        (6 * S, 299 * S),
        (305 * S, 1800 * S),
    ],
)
def test_the_next_attempt_is_due_at_the_next_offset_past_the_events_age(
    age: timedelta, expected: timedelta
) -> None:
    assert next_retry(DELAYS, age, None, Fixed(0.0)) == expected


def test_past_the_schedule_the_delivery_is_given_up() -> None:
    assert next_retry(DELAYS, sum(DELAYS, timedelta(0)), None, Fixed(0.0)) is None


def test_jitter_moves_the_wait_by_at_most_a_fifth_of_its_step() -> None:
    early, late = (
        next_retry(DELAYS, 6 * S, None, Fixed(-1.0)),
        next_retry(DELAYS, 6 * S, None, Fixed(1.0)),
    )
    assert (early, late) == (299 * S - 60 * S, 299 * S + 60 * S)


def test_retry_after_is_a_lower_bound_and_twelve_hours_the_ceiling() -> None:
    assert next_retry(DELAYS, 0 * S, 60 * S, Fixed(0.0)) == 60 * S
    assert next_retry(DELAYS, 0 * S, 1 * S, Fixed(0.0)) == 5 * S
    assert next_retry(DELAYS, 0 * S, timedelta(days=2), Fixed(0.0)) == LONGEST_DELAY
    long = (timedelta(days=1),)
    assert next_retry(long, 0 * S, None, Fixed(0.0)) == LONGEST_DELAY


def test_a_wait_is_never_negative() -> None:
    assert next_retry((1 * S,), 0.99 * S, None, Fixed(-1.0)) == timedelta(0)
