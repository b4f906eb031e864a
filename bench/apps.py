"""ASGI app factories that the benchmark servers run (``uvicorn bench.apps:... --factory``).

They take their configuration from the environment variables named below, set by the
benchmark that starts them.
"""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import FastAPI, Request, Response
from pydantic import BaseModel

from filegate.adapters.local.store import LocalObjectStore
from filegate.adapters.local.url_signing import UrlSigner
from filegate.domain.clock import SystemClock
from filegate.domain.models import ObjectInfo
from filegate.http.problems import install_problem_handlers
from filegate.http.routes.store import store_router

STORE_ROOT_ENV = "BENCH_STORE_ROOT"
"""Folder of the store app: ``objects/`` for filegate's store, ``baseline/`` for the baseline."""
SIGNING_KEY_ENV = "BENCH_SIGNING_KEY"
"""Hex URL-signing key (id :data:`SIGNING_KEY_ID`) shared with the benchmark that signs URLs."""
SIGNING_KEY_ID = "k1"
BASELINE_PUT_PATH = "/baseline/{name}"
ECHO_PATH = "/echo"


class AcceptingGate:
    """An ``UploadGate`` that admits every key and commits every object (no database)."""

    async def admit(self, key: str) -> None:
        return None

    async def commit(self, key: str, info: ObjectInfo) -> None:
        return None


def store_app() -> FastAPI:
    """The real ``store_router`` on a local store, and the baseline PUT beside it."""
    root = Path(os.environ[STORE_ROOT_ENV])
    signer = UrlSigner({SIGNING_KEY_ID: bytes.fromhex(os.environ[SIGNING_KEY_ENV])}, SIGNING_KEY_ID)
    store = LocalObjectStore(root / "objects", "http://127.0.0.1", signer, SystemClock())
    baseline_dir = root / "baseline"
    baseline_dir.mkdir(parents=True, exist_ok=True)

    async def stream_to_file(request: Request) -> Response:
        """The irreducible part of a streaming PUT: body chunks straight into a file."""
        path = baseline_dir / Path(request.path_params["name"]).name
        with path.open("wb") as out:
            async for chunk in request.stream():
                out.write(chunk)
        return Response(status_code=200)

    app = FastAPI()
    install_problem_handlers(app)
    app.include_router(store_router(store, AcceptingGate()))
    app.add_route(BASELINE_PUT_PATH, stream_to_file, methods=["PUT"])
    return app


class Declaration(BaseModel):
    """The fields of a registration, validated as any FastAPI endpoint would."""

    filename: str
    content_type: str
    size: int
    sha256: str | None = None


def json_app() -> FastAPI:
    """A trivial FastAPI JSON POST endpoint: validate the body, answer 201 with JSON."""
    app = FastAPI()

    @app.post(ECHO_PATH, status_code=201)
    async def echo(body: Declaration) -> dict[str, object]:
        return {"filename": body.filename, "size": body.size}

    return app
