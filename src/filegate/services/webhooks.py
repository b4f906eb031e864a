"""The webhook relay: events from the outbox onto the delivery queue, once per endpoint.

At least once: a relay claims events for a lease, enqueues their deliveries, then marks
them relayed. A relay that dies between the two leaves the events to be claimed again when
the lease ends, so a delivery may be enqueued twice (receivers see the same webhook-id and
deduplicate on it); never zero times. Several relays (one per worker) share the outbox:
a claim skips events another relay holds.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from filegate.domain.deliveries import Delivery, encode_delivery
from filegate.domain.events import Event, EventType
from filegate.domain.ports import EventOutbox, Queue
from filegate.domain.webhooks import WebhookEndpoint

log = logging.getLogger(__name__)

RELAY_BATCH = 100
RELAY_LEASE = timedelta(seconds=60)
REPLAY_PAGE = 500


@dataclass(frozen=True)
class Replayed:
    """What a replay enqueued: ``events`` matched, ``deliveries`` sent (per event and endpoint)."""

    events: int
    deliveries: int


class WebhookRelay:
    """Hands events to the delivery ``queue``, one message per interested endpoint."""

    def __init__(
        self, outbox: EventOutbox, queue: Queue, endpoints: Sequence[WebhookEndpoint]
    ) -> None:
        self._outbox = outbox
        self._queue = queue
        self._endpoints = tuple(endpoints)

    async def relay_once(self) -> int:
        """Relay up to one batch of waiting events; how many events were relayed."""
        events = await self._outbox.claim_unrelayed(RELAY_BATCH, RELAY_LEASE)
        if not events:
            return 0
        await self._enqueue(events, self._endpoints)
        await self._outbox.mark_relayed([event.id for event in events])
        return len(events)

    async def relay_all(self) -> int:
        """Relay until no event waits; how many were relayed."""
        total = 0
        while relayed := await self.relay_once():
            total += relayed
        return total

    async def run(self, stop: asyncio.Event, interval: timedelta) -> None:
        """Relay whenever events commit and at least every ``interval``, until ``stop``.

        Failures (the database or the queue down) are logged and retried at the next turn;
        the events wait in the outbox meanwhile.
        """
        while not stop.is_set():
            wait = self._outbox.arm()
            try:
                await self.relay_all()
            except Exception:
                log.warning("webhook relay failed; retrying", exc_info=True)
            await wait(interval)

    async def replay(
        self,
        since: datetime,
        types: Sequence[EventType] = (),
        endpoint: str | None = None,
    ) -> Replayed:
        """Enqueue the deliveries of every kept event since ``since`` again (of ``types``;
        to ``endpoint`` only, when named), with their original webhook-ids."""
        targets = [e for e in self._endpoints if endpoint is None or e.name == endpoint]
        if endpoint is not None and not targets:
            raise ValueError(f"no webhook endpoint named {endpoint!r}")
        events = deliveries = 0
        after: str | None = None
        while page := await self._outbox.since(since, types, REPLAY_PAGE, after):
            deliveries += await self._enqueue(page, targets)
            events += len(page)
            after = page[-1].id
        return Replayed(events, deliveries)

    async def _enqueue(self, events: Sequence[Event], endpoints: Sequence[WebhookEndpoint]) -> int:
        bodies = [
            encode_delivery(Delivery.of(event, endpoint.name))
            for event in events
            for endpoint in endpoints
            if endpoint.wants(event.type)
        ]
        if bodies:
            await self._queue.send_batch(bodies)
        return len(bodies)
