"""The AWS Lambda entry point: ``filegate.aws_lambda.handler``.

The handler logic (partial batch responses, dead-lettering) lives in
:mod:`filegate.worker.aws_lambda`; this module only builds its worker from the
``FILEGATE_*`` environment, through the composition root.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from filegate.bootstrap.runtime import ConfigurationError, open_worker_runtime
from filegate.config import Settings
from filegate.worker.aws_lambda import LambdaWorker, make_handler


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
        yield LambdaWorker(runtime.processor(), route)


def _open_worker_from_environment() -> AbstractAsyncContextManager[LambdaWorker]:
    return open_lambda_worker(Settings())


handler = make_handler(_open_worker_from_environment)
"""The Lambda entry point: services are built from the ``FILEGATE_*`` environment on the
first invocation, once per container."""
