"""Webhooks as the settings configure them: endpoints, their delivery queue, the relay, the
sender and the consumer of deliveries (only when endpoints are configured)."""

from __future__ import annotations

from contextlib import AsyncExitStack
from dataclasses import dataclass, replace
from datetime import timedelta
from urllib.parse import urlsplit

from prometheus_client import CollectorRegistry

from filegate.adapters.sql.queue import SqlQueue
from filegate.adapters.sql.webhook_endpoints import SqlEndpointStates
from filegate.adapters.webhook_metrics import PrometheusDeliveryMetrics
from filegate.adapters.webhooks import AddressPolicy, HttpWebhookSender
from filegate.bootstrap.backends import ConfigurationError, Database, require_extra
from filegate.bootstrap.policies import consumer_config
from filegate.config import Settings, WebhookEndpointSettings
from filegate.domain.events import EventType
from filegate.domain.ports import Clock, Queue
from filegate.domain.tracing import NO_TRACING, Tracer
from filegate.domain.webhooks import (
    DEFAULT_RETRY_DELAYS,
    RetrySchedule,
    WebhookEndpoint,
    check_endpoint_url,
)
from filegate.services.webhooks import WebhookRelay
from filegate.worker.aws_lambda import DeadLetterRoute
from filegate.worker.consumer import Consumer
from filegate.worker.deliveries import DeliveryProcessor

WEBHOOK_QUEUE = "webhooks"
"""The SQL queue of deliveries when ``webhook_queue_url`` is empty."""
DELIVERY_CONCURRENCY = 8
"""Batches of deliveries in flight per worker: endpoints slow to answer hold only their own."""
RELAY_INTERVAL = timedelta(seconds=1)
"""Longest a relay waits between looks when no wake-up comes (another process's SQLite)."""


@dataclass(frozen=True, kw_only=True)
class Webhooks:
    """The configured endpoints and what delivers to them."""

    settings: Settings
    clock: Clock
    endpoints: tuple[WebhookEndpoint, ...]
    queue: Queue
    relay: WebhookRelay
    states: SqlEndpointStates
    sender: HttpWebhookSender
    metrics: PrometheusDeliveryMetrics
    dead_letter_route: DeadLetterRoute | None = None
    """The SQS delivery queue, for the webhook Lambda (None on the SQL queue)."""
    tracer: Tracer = NO_TRACING

    def processor(self) -> DeliveryProcessor:
        delays = self.settings.webhook_retry_delays_seconds
        return DeliveryProcessor(
            self.sender,
            self.endpoints,
            self.states,
            self.clock,
            schedule=RetrySchedule(
                tuple(timedelta(seconds=d) for d in delays) or DEFAULT_RETRY_DELAYS
            ),
            gone_threshold=self.settings.webhook_gone_threshold,
            metrics=self.metrics,
            tracer=self.tracer,
        )

    def consumer(self) -> Consumer:
        """The delivery consumer loop: its own queue, so endpoints never hold verification."""
        config = consumer_config(self.settings)
        deliveries = replace(config, batch_window=timedelta(0), concurrency=DELIVERY_CONCURRENCY)
        return Consumer(self.queue, self.processor(), deliveries)


def endpoint_of(configured: WebhookEndpointSettings, settings: Settings) -> WebhookEndpoint:
    """The endpoint the settings describe; ``ConfigurationError`` for a refused URL."""
    try:
        check_endpoint_url(configured.url, allow_http=settings.webhook_allow_http)
        return WebhookEndpoint(
            name=configured.name,
            url=configured.url,
            secrets=configured.secrets,
            events=frozenset(EventType(t) for t in configured.events),
            max_in_flight=configured.max_in_flight,
        )
    except ValueError as exc:
        raise ConfigurationError(f"webhook endpoint {configured.name!r}: {exc}") from exc


def sender_for(settings: Settings) -> HttpWebhookSender:
    """The outbound HTTP sender, with the address and scheme rules of the settings."""
    allow = settings.webhook_allow_private
    return HttpWebhookSender(
        AddressPolicy(allow_loopback=allow, allow_private=allow),
        timeout=timedelta(seconds=settings.webhook_timeout_seconds),
        allow_http=settings.webhook_allow_http,
    )


async def open_webhooks(
    settings: Settings,
    database: Database,
    clock: Clock,
    registry: CollectorRegistry,
    stack: AsyncExitStack,
    tracer: Tracer = NO_TRACING,
) -> Webhooks | None:
    """The webhooks of ``settings`` (None without endpoints); closed with ``stack``."""
    if not settings.webhooks:
        return None
    names = [e.name for e in settings.webhooks]
    if len(set(names)) != len(names):
        raise ConfigurationError(f"webhook endpoint names must be unique: {names}")
    endpoints = tuple(endpoint_of(e, settings) for e in settings.webhooks)
    queue, route = await _delivery_queue(settings, database, clock, stack)
    sender = sender_for(settings)
    stack.push_async_callback(sender.close)
    return Webhooks(
        settings=settings,
        clock=clock,
        endpoints=endpoints,
        queue=queue,
        relay=WebhookRelay(database.events, queue, endpoints),
        states=SqlEndpointStates(database.sql),
        sender=sender,
        metrics=PrometheusDeliveryMetrics(registry, [e.name for e in endpoints]),
        dead_letter_route=route,
        tracer=tracer,
    )


async def _delivery_queue(
    settings: Settings, database: Database, clock: Clock, stack: AsyncExitStack
) -> tuple[Queue, DeadLetterRoute | None]:
    url = settings.webhook_queue_url or f"sql://{WEBHOOK_QUEUE}"
    scheme = urlsplit(url).scheme
    if scheme == "sql":
        parts = urlsplit(url)
        name = (parts.netloc + parts.path).strip("/") or WEBHOOK_QUEUE
        queue = SqlQueue(database.sql, clock, name=name, max_receives=settings.webhook_max_receives)
        stack.push_async_callback(queue.signals.close)
        return queue, None
    if scheme == "sqs":
        require_extra("aws", "FILEGATE_WEBHOOK_QUEUE_URL", url)
        from filegate.adapters.sqs.queue import open_sqs_queue
        from filegate.adapters.sqs.url import parse_sqs_url

        sqs = await stack.enter_async_context(open_sqs_queue(parse_sqs_url(url)))
        return sqs, sqs
    raise ConfigurationError(f"unsupported webhook queue URL scheme: {scheme!r}")
