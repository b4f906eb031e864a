"""The AWS Lambda entry points: ``filegate.aws_lambda.handler`` (the verifier, on the
queue), ``filegate.aws_lambda.webhook_handler`` (webhook deliveries, on the queue of
``FILEGATE_WEBHOOK_QUEUE_URL``) and ``filegate.aws_lambda.sweep_handler`` (the sweeps, on a
schedule).

The handler logic (partial batch responses, dead-lettering) lives in
:mod:`filegate.worker.aws_lambda`; this module only builds its worker from the
``FILEGATE_*`` environment, through the composition root.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from filegate.bootstrap.runtime import ConfigurationError, open_worker_runtime
from filegate.config import Settings
from filegate.worker.aws_lambda import LambdaWorker, make_handler
from filegate.worker.periodic import sweep_once, worker_name


@asynccontextmanager
async def open_lambda_worker(settings: Settings) -> AsyncIterator[LambdaWorker]:
    """The worker the composition root builds from ``settings`` (database, store, decoding
    pool, and the SQS queue of ``FILEGATE_QUEUE_URL``, also used for its dead-letter queue).

    Raises ``ConfigurationError`` unless the queue is an ``sqs://`` queue: Lambda's event
    source is SQS, and dead messages must reach that queue's dead-letter queue.
    """
    async with open_worker_runtime(settings) as runtime:
        route = runtime.queues.dead_letter_route
        if route is None:
            raise ConfigurationError(
                "the Lambda worker consumes an SQS queue: FILEGATE_QUEUE_URL must be sqs://..."
            )
        relay = runtime.webhooks.relay.relay_all if runtime.webhooks is not None else None
        yield LambdaWorker(
            runtime.processor(), route, after_batch=relay, after_invocation=runtime.tracing.flush
        )


@asynccontextmanager
async def open_webhook_lambda_worker(settings: Settings) -> AsyncIterator[LambdaWorker]:
    """The delivery worker: webhook deliveries from the SQS queue of
    ``FILEGATE_WEBHOOK_QUEUE_URL`` (and its dead-letter queue).

    Raises ``ConfigurationError`` without webhook endpoints or without an ``sqs://``
    delivery queue.
    """
    async with open_worker_runtime(settings) as runtime:
        webhooks = runtime.webhooks
        if webhooks is None or webhooks.dead_letter_route is None:
            raise ConfigurationError(
                "the webhook Lambda needs FILEGATE_WEBHOOKS and an sqs:// "
                "FILEGATE_WEBHOOK_QUEUE_URL"
            )
        yield LambdaWorker(
            webhooks.processor(),
            webhooks.dead_letter_route,
            after_invocation=runtime.tracing.flush,
        )


def _open_worker_from_environment() -> AbstractAsyncContextManager[LambdaWorker]:
    return open_lambda_worker(Settings())


handler = make_handler(_open_worker_from_environment)
"""The Lambda entry point: services are built from the ``FILEGATE_*`` environment on the
first invocation, once per container."""

webhook_handler = make_handler(lambda: open_webhook_lambda_worker(Settings()))
"""The webhook delivery Lambda's entry point (on the delivery queue), built like ``handler``."""


async def run_scheduled_sweeps(settings: Settings) -> dict[str, str]:
    """Every sweep once where this invocation claims it: what the scheduled function does.

    The claims are the workers' own, so a deployment with both workers and the schedule
    still runs each sweep at most once per interval.
    """
    async with open_worker_runtime(settings) as runtime:
        claims = runtime.database.sweep_claims
        outcomes = await sweep_once(runtime.sweeps(), claims, worker_name())
    return {name: outcome.value for name, outcome in outcomes.items()}


def sweep_handler(event: object, context: object) -> dict[str, str]:
    """The scheduled function's entry point (EventBridge): the sweeps' outcomes by name."""
    return asyncio.run(run_scheduled_sweeps(Settings()))
