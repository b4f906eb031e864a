"""Webhook deliveries as queue messages, and when a failed one is tried again.

The relay turns each event into one ``webhook.deliver`` message per endpoint that wants it::

    {"v": 1, "type": "webhook.deliver", "endpoint": "orders", "id": "evt_…",
     "event": "file.ready", "occurred_at": "2026-12-03T10:00:00.000000Z",
     "body": "{…}", "traceparent": "00-…"}          # traceparent optional

The message carries the event's whole body, so a delivery needs no database read and
survives the event's pruning. Its ``id`` is the webhook-id: the same on every attempt,
every replay, every endpoint.

Retries follow the event's age (:meth:`~filegate.domain.webhooks.RetrySchedule.delay_at`),
which the message carries as ``occurred_at``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from filegate.domain.errors import PoisonMessage
from filegate.domain.events import Event, EventType, rfc3339

WEBHOOK_DELIVER = "webhook.deliver"


@dataclass(frozen=True)
class Delivery:
    """One event to hand to one endpoint (see the module docstring)."""

    endpoint: str
    event_id: str
    event_type: EventType
    occurred_at: datetime
    body: str
    trace_parent: str | None = None

    @classmethod
    def of(cls, event: Event, endpoint: str) -> Delivery:
        return cls(
            endpoint,
            event.id,
            event.type,
            event.occurred_at,
            event.body,
            event.trace_parent,
        )


def encode_delivery(delivery: Delivery) -> str:
    """The queue body of ``delivery``; :func:`parse_delivery` inverts it."""
    document = {
        "v": 1,
        "type": WEBHOOK_DELIVER,
        "endpoint": delivery.endpoint,
        "id": delivery.event_id,
        "event": delivery.event_type.value,
        "occurred_at": rfc3339(delivery.occurred_at),
        "body": delivery.body,
    }
    if delivery.trace_parent is not None:
        document["traceparent"] = delivery.trace_parent
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False)


def parse_delivery(body: str) -> Delivery:
    """The delivery a queue body carries; :class:`PoisonMessage` for anything else."""
    try:
        document = json.loads(body)
        if document.get("v") != 1 or document.get("type") != WEBHOOK_DELIVER:
            raise PoisonMessage("not a webhook.deliver message")
        trace_parent = document.get("traceparent")
        return Delivery(
            endpoint=_text(document["endpoint"]),
            event_id=_text(document["id"]),
            event_type=EventType(document["event"]),
            occurred_at=datetime.fromisoformat(_text(document["occurred_at"])),
            body=_text(document["body"]),
            trace_parent=trace_parent if isinstance(trace_parent, str) else None,
        )
    except PoisonMessage:
        raise
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise PoisonMessage(f"malformed webhook.deliver message: {exc}") from exc


def _text(value: object) -> str:
    if not isinstance(value, str) or not value:
        raise TypeError("expected a non-empty string")
    return value
