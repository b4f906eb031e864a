"""The FastAPI application factory."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from fastapi.middleware.cors import CORSMiddleware

import filegate
from filegate.http.context import ApiContext
from filegate.http.framing import StrictFramingMiddleware
from filegate.http.middleware import BodyLimitMiddleware, RequestIdMiddleware
from filegate.http.openapi import add_problem_schema, document_problems
from filegate.http.problems import install_problem_handlers
from filegate.http.routes import (
    docs,
    files,
    grants,
    health,
    lifecycle,
    multipart,
    sessions,
    short_links,
)
from filegate.http.routes.events import events_router
from filegate.http.routes.metrics import metrics_router
from filegate.http.routes.store import store_router
from filegate.http.routes.web import web_router
from filegate.http.telemetry import RequestTelemetryMiddleware


def create_app(context: ApiContext, extra_routers: tuple[APIRouter, ...] = ()) -> FastAPI:
    """An app serving API v1 over ``context``, plus ``extra_routers``.

    A capability's routes are mounted only when ``context`` has it (multipart uploads, the
    local store's signed URLs), so the OpenAPI document lists only routes that work here.
    The app owns no backend: whoever built ``context`` opens and closes it.
    """
    app = FastAPI(
        title="filegate",
        version=filegate.__version__,
        summary="Register files, upload through presigned URLs, download once verified.",
        # /docs is served by docs_router, from installed files (FastAPI's loads a CDN's).
        docs_url=None,
        redoc_url=None,
        # filegate traces and times requests itself (RequestTelemetryMiddleware, the
        # tracing adapter): FastAPI's own OpenTelemetry layer would repeat each span, and
        # even off it asks the global providers on every request whether to start.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.context = context
    install_problem_handlers(app)
    for router in (*_api_routers(context), *extra_routers, *_page_routers(context)):
        app.include_router(document_problems(router))
    add_problem_schema(app)
    settings = context.settings
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "HEAD", "PUT", "POST", "DELETE"],
            allow_headers=[
                "Authorization",
                "Content-Type",
                "Idempotency-Key",
                "Last-Event-ID",
                "X-Request-ID",
                "X-Session-Token",
            ],
            expose_headers=["ETag", "X-Request-ID", "Location"],
            max_age=600,
        )
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_request_bytes)
    app.add_middleware(StrictFramingMiddleware)  # outside the body limit: before any read
    app.add_middleware(RequestTelemetryMiddleware, observer=context.metrics)
    app.add_middleware(RequestIdMiddleware)
    return app


def _api_routers(context: ApiContext) -> list[APIRouter]:
    """API v1: the core routers, then those of each capability ``context`` has."""
    routers = [
        health.router,
        files.router,
        sessions.router,
        grants.router,
        short_links.router,
        lifecycle.router,
    ]
    if context.multipart is not None:
        routers.append(multipart.router)
    if context.served is not None:
        routers.append(store_router(context.served, context.uploads))
    if context.events is not None:
        routers.append(events_router(context.events))
    return routers


def _page_routers(context: ApiContext) -> list[APIRouter]:
    """The web page, the API docs and ``GET /metrics``."""
    settings = context.settings
    return [
        web_router(settings.public_url, settings.web_connect_src),
        docs.docs_router("filegate"),
        metrics_router(context.metrics, context.backends.queue),
    ]
