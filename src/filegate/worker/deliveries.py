"""Webhook deliveries: a batch of ``webhook.deliver`` messages, each delivered on its own.

Every message of a batch is attempted at once, at most ``max_in_flight`` per endpoint (per
process): a slow endpoint waits for its own slots and never for another endpoint's. The
outcome of each message follows its attempt:

* 2xx: delivered, the message is deleted;
* 410 Gone: counted; at ``gone_threshold`` in a row the endpoint is disabled (a log line,
  a metric) and its deliveries are dropped from then on; until then retried as a failure;
* anything else (another status, a time-out, a refused address): retried when the event's
  age reaches the schedule's next step (:meth:`~filegate.domain.webhooks.RetrySchedule.delay_at`),
  honouring ``Retry-After``; past the schedule, dead-lettered as ``DELIVERY_EXHAUSTED``
  (``filegate dlq`` lists them; ``filegate webhooks replay`` sends them again);
* a malformed body is dead-lettered as ``MALFORMED``; a delivery to an endpoint no longer
  configured, or disabled, is dropped (deleted, logged, counted).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from datetime import timedelta
from random import Random

from filegate.domain.deliveries import Delivery, parse_delivery
from filegate.domain.errors import PoisonMessage
from filegate.domain.metrics import NO_DELIVERY_METRICS, DeliveryMetrics
from filegate.domain.models import FailureReason, Message
from filegate.domain.ports import Clock, EndpointStates
from filegate.domain.tracing import NO_TRACING, Tracer, webhook_delivery
from filegate.domain.webhooks import (
    Delivered,
    DeliveryOutcome,
    Gone,
    RetrySchedule,
    WebhookEndpoint,
    WebhookSender,
    status_class,
)
from filegate.worker.batch import BatchResult, Dead, MessageOutcome, Retry, Succeeded

log = logging.getLogger(__name__)

DEFAULT_SCHEDULE = RetrySchedule()

DISABLED_REFRESH_SECONDS = 30.0
"""How often a worker re-reads which endpoints are disabled (other workers disable too)."""


class DeliveryProcessor:
    """Processes batches of deliveries (the module docstring says how each one ends)."""

    def __init__(
        self,
        sender: WebhookSender,
        endpoints: Sequence[WebhookEndpoint],
        states: EndpointStates,
        clock: Clock,
        *,
        schedule: RetrySchedule = DEFAULT_SCHEDULE,
        gone_threshold: int = 3,
        metrics: DeliveryMetrics = NO_DELIVERY_METRICS,
        tracer: Tracer = NO_TRACING,
        random: Random | None = None,
    ) -> None:
        self._sender = sender
        self._endpoints = {endpoint.name: endpoint for endpoint in endpoints}
        self._states = states
        self._clock = clock
        self._schedule = schedule
        self._gone_threshold = gone_threshold
        self._metrics = metrics
        self._tracer = tracer
        self._random = random or Random()  # noqa: S311 - retry jitter, not a secret
        self._slots: dict[str, asyncio.Semaphore] = {}
        self._disabled: set[str] = set()
        self._disabled_read_at = -DISABLED_REFRESH_SECONDS
        self._gone_seen: set[str] = set()

    async def process(self, messages: Sequence[Message]) -> BatchResult:
        """One outcome per message, in the order given; never raises for a message."""
        return BatchResult(tuple(await asyncio.gather(*(self._one(m) for m in messages))))

    async def _one(self, message: Message) -> MessageOutcome:
        try:
            delivery = parse_delivery(message.body)
        except PoisonMessage as exc:
            return Dead(message, FailureReason.MALFORMED, str(exc))
        endpoint = self._endpoints.get(delivery.endpoint)
        if endpoint is None:
            return self._drop(message, delivery, "unknown_endpoint")
        if await self._is_disabled(endpoint.name):
            return self._drop(message, delivery, "disabled")
        outcome = await self._attempt(endpoint, delivery)
        return await self._settle(message, delivery, outcome)

    async def _attempt(self, endpoint: WebhookEndpoint, delivery: Delivery) -> DeliveryOutcome:
        slots = self._slots.setdefault(endpoint.name, asyncio.Semaphore(endpoint.max_in_flight))
        async with slots:
            now = self._clock.now()
            with webhook_delivery(
                self._tracer,
                delivery.trace_parent,
                endpoint.name,
                event_id=delivery.event_id,
                event_type=delivery.event_type.value,
            ) as span:
                outcome = await self._sender.send(endpoint, delivery.event_id, delivery.body, now)
                if not isinstance(outcome, Delivered):
                    span.fail(status_class(outcome))
        age = (now - delivery.occurred_at).total_seconds()
        self._metrics.attempt(endpoint.name, status_class(outcome), outcome.seconds, age)
        return outcome

    async def _settle(
        self, message: Message, delivery: Delivery, outcome: DeliveryOutcome
    ) -> MessageOutcome:
        name = delivery.endpoint
        if isinstance(outcome, Delivered):
            if name in self._gone_seen:
                self._gone_seen.discard(name)
                await self._states.record_delivered(name)
            return Succeeded(message)
        if isinstance(outcome, Gone):
            self._gone_seen.add(name)
            if await self._states.record_gone(name, self._clock.now(), self._gone_threshold):
                self._disable(name)
                return self._drop(message, delivery, "disabled")
            return self._retry(message, delivery, None, "410 Gone")
        return self._retry(message, delivery, outcome.retry_after, outcome.detail)

    def _retry(
        self, message: Message, delivery: Delivery, retry_after: timedelta | None, detail: str
    ) -> MessageOutcome:
        age = self._clock.now() - delivery.occurred_at
        delay = self._schedule.delay_at(age, retry_after, self._random)
        if delay is None:
            log.warning(
                "webhook %s to %s given up after its schedule: %s",
                delivery.event_id,
                delivery.endpoint,
                detail,
            )
            self._metrics.dropped(delivery.endpoint, "exhausted")
            return Dead(message, FailureReason.DELIVERY_EXHAUSTED, f"{delivery.endpoint}: {detail}")
        return Retry(message, delay, FailureReason.DELIVERY_FAILED, detail)

    def _drop(self, message: Message, delivery: Delivery, reason: str) -> MessageOutcome:
        log.info("webhook %s to %s dropped: %s", delivery.event_id, delivery.endpoint, reason)
        self._metrics.dropped(delivery.endpoint, reason)
        return Succeeded(message)

    def _disable(self, name: str) -> None:
        self._disabled.add(name)
        self._metrics.disabled(name)
        log.error(
            "webhook endpoint %s disabled: it answered 410 Gone %d times in a row "
            "(filegate webhooks enable %s)",
            name,
            self._gone_threshold,
            name,
        )

    async def _is_disabled(self, name: str) -> bool:
        if time.monotonic() - self._disabled_read_at >= DISABLED_REFRESH_SECONDS:
            self._disabled = set(await self._states.disabled())
            self._disabled_read_at = time.monotonic()
        return name in self._disabled
