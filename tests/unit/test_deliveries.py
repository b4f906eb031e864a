"""Delivery messages: their queue bodies."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from filegate.domain.deliveries import (
    Delivery,
    encode_delivery,
    parse_delivery,
)
from filegate.domain.errors import PoisonMessage
from filegate.domain.events import EventType, make_event


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
