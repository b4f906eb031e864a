"""Liveness and readiness probes."""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from typing import Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from filegate.domain.errors import BackendUnavailable
from filegate.http.deps import ContextDep

log = logging.getLogger(__name__)

router = APIRouter(tags=["health"])


class Readiness(BaseModel):
    """The readiness answer: each backend's check, ``ok`` or ``unavailable``."""

    status: Literal["ready", "unavailable"]
    checks: dict[str, Literal["ok", "unavailable"]]


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "A backend does not answer."}},
)
async def readyz(context: ContextDep) -> JSONResponse:
    """The database, the store and the queue answer (503 naming the failing ones)."""
    checks = {
        "database": _check(context.backends.files.get("readiness-probe")),
        "store": _check(context.backends.store.head("readiness-probe/none")),
        "queue": _check(context.backends.queue.depth()),
    }
    results = {name: await check for name, check in checks.items()}
    ready = all(result == "ok" for result in results.values())
    return JSONResponse(
        {"status": "ready" if ready else "unavailable", "checks": results},
        status_code=200 if ready else 503,
    )


async def _check(probe: Awaitable[object]) -> str:
    try:
        await probe
    except (BackendUnavailable, OSError) as exc:
        log.warning("readiness check failed: %s", type(exc).__name__)
        return "unavailable"
    return "ok"
