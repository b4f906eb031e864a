"""``GET /metrics``: this process's metrics in the Prometheus text format.

The API serves it on its own port; a worker process, which has no API, serves
:func:`metrics_app` on ``--metrics-port``. The queue's depth is measured on each scrape.
Unauthenticated, like the probes: expose it only where Prometheus, not the public, can reach.
"""

from __future__ import annotations

from fastapi import APIRouter
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from filegate.domain.ports import Queue
from filegate.http.ports import MetricsExposition


async def exposition(metrics: MetricsExposition, queue: Queue | None) -> Response:
    """The current exposition, with the queue gauges measured now."""
    return Response(await metrics.render(queue), media_type=metrics.content_type)


def metrics_router(metrics: MetricsExposition, queue: Queue | None) -> APIRouter:
    """A router with ``GET /metrics`` (kept out of the OpenAPI document)."""
    router = APIRouter(include_in_schema=False)

    @router.get("/metrics")
    async def get_metrics() -> Response:
        return await exposition(metrics, queue)

    return router


def metrics_app(metrics: MetricsExposition, queue: Queue | None) -> Starlette:
    """An app serving ``GET /metrics`` only, for processes without the API."""

    async def get_metrics(_: Request) -> Response:
        return await exposition(metrics, queue)

    return Starlette(routes=[Route("/metrics", get_metrics, methods=["GET"])])
