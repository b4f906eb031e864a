"""The FastAPI application factory."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from fastapi.middleware.cors import CORSMiddleware

import filegate
from filegate.http.context import ApiContext
from filegate.http.middleware import BodyLimitMiddleware, RequestIdMiddleware
from filegate.http.problems import install_problem_handlers
from filegate.http.routes import files, grants, health, lifecycle, multipart, sessions
from filegate.http.routes.metrics import metrics_router
from filegate.http.routes.web import web_router
from filegate.http.telemetry import RequestTelemetryMiddleware


def create_app(context: ApiContext, extra_routers: tuple[APIRouter, ...] = ()) -> FastAPI:
    """An app serving API v1 over ``context``; ``extra_routers`` adds e.g. the local store.

    The app owns no backend: whoever built ``context`` opens and closes it.
    """
    app = FastAPI(
        title="filegate",
        version=filegate.__version__,
        summary="Register files, upload through presigned URLs, download once verified.",
    )
    app.state.context = context
    install_problem_handlers(app)
    routers = (health.router, files.router, multipart.router, sessions.router, grants.router)
    for router in (*routers, lifecycle.router, *extra_routers):
        app.include_router(router)
    app.include_router(web_router(context.public_url, context.web_connect_src))
    if context.metrics is not None:
        app.include_router(metrics_router(context.metrics, context.queue))
    if context.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(context.cors_origins),
            allow_methods=["GET", "HEAD", "PUT", "POST", "DELETE"],
            allow_headers=[
                "Authorization",
                "Content-Type",
                "Idempotency-Key",
                "X-Request-ID",
                "X-Session-Token",
            ],
            expose_headers=["ETag", "X-Request-ID", "Location"],
            max_age=600,
        )
    app.add_middleware(BodyLimitMiddleware, max_bytes=context.max_request_bytes)
    app.add_middleware(RequestTelemetryMiddleware, observer=context.metrics)
    app.add_middleware(RequestIdMiddleware)
    return app
