"""Webhook deliveries as queue messages, and when a failed one is tried again.

The relay turns each event into one ``webhook.deliver`` message per endpoint that wants it::

    {"v": 1, "type": "webhook.deliver", "endpoint": "orders", "id": "evt_…",
     "event": "file.ready", "occurred_at": "2026-12-03T10:00:00.000000Z",
     "body": "{…}", "traceparent": "00-…"}          # traceparent optional

The message carries the event's whole body, so a delivery needs no database read and
survives the event's pruning. Its ``id`` is the webhook-id: the same on every attempt,
every replay, every endpoint.

**Retries follow the event's age**, not the message's receive count: retry ``n`` is due
once the event is as old as the sum of the schedule's first ``n`` delays, so a delivery
deferred for other reasons (its endpoint busy, a worker stopping) never skips ahead in the
schedule, and a delivery still failing past the schedule's span is given up.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import accumulate
from random import Random

from filegate.domain.errors import PoisonMessage
from filegate.domain.events import Event, EventType, rfc3339

WEBHOOK_DELIVER = "webhook.deliver"
LONGEST_DELAY = timedelta(hours=12)
"""SQS hides a message at most this long, so no retry waits longer."""


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


def next_retry(
    delays: tuple[timedelta, ...],
    age: timedelta,
    retry_after: timedelta | None,
    random: Random,
    jitter: float = 0.2,
) -> timedelta | None:
    """How long from now until the next attempt of a delivery whose event is ``age`` old,
    or None when the schedule (``delays`` between attempts) is spent.

    The next attempt is due at the first cumulative offset of the schedule past ``age``;
    the wait is jittered by ±``jitter`` of that step, is at least ``retry_after`` (the
    receiver's ``Retry-After``) and at most :data:`LONGEST_DELAY`.
    """
    for step, offset in zip(delays, accumulate(delays), strict=True):
        if offset > age:
            wait = offset - age + step * random.uniform(-jitter, jitter)
            wait = max(wait, retry_after or timedelta(0), timedelta(0))
            return min(wait, LONGEST_DELAY)
    return None
