"""ASGI apps of the ``store_put`` benchmark (``uvicorn bench.store_apps:... --factory``).

They take their configuration from the environment variables named below, set by the
benchmark that starts them.
"""

from __future__ import annotations

import os
from pathlib import Path

from anyio import to_thread
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from filegate.adapters.local.disk import fsync_dir
from filegate.adapters.local.store import LocalObjectStore
from filegate.adapters.local.url_signing import UrlSigner
from filegate.domain.clock import SystemClock
from filegate.domain.models import ObjectInfo
from filegate.http.problems import install_problem_handlers
from filegate.http.routes.store import store_router

STORE_ROOT_ENV = "BENCH_STORE_ROOT"
"""The folder an app writes its objects into."""
SIGNING_KEY_ENV = "BENCH_SIGNING_KEY"
"""Hex URL-signing key (id :data:`SIGNING_KEY_ID`) shared with the benchmark that signs URLs."""
SIGNING_KEY_ID = "k1"
BARE_PUT_PATH = "/put/{name}"
DURABLE_PUT_PATH = "/durable/{name}"


class AcceptingGate:
    """An ``UploadGate`` that admits every key and commits every object (no database)."""

    async def admit(self, key: str) -> None:
        return None

    async def commit(self, key: str, info: ObjectInfo) -> None:
        return None


def store_app() -> FastAPI:
    """The real ``store_router`` on a local store under ``$BENCH_STORE_ROOT``."""
    root = Path(os.environ[STORE_ROOT_ENV])
    signer = UrlSigner({SIGNING_KEY_ID: bytes.fromhex(os.environ[SIGNING_KEY_ENV])}, SIGNING_KEY_ID)
    store = LocalObjectStore(root, "http://127.0.0.1", signer, SystemClock())
    app = FastAPI()
    install_problem_handlers(app)
    app.include_router(store_router(store, AcceptingGate()))
    return app


def bare_put_app() -> Starlette:
    """The irreducible part of a streaming PUT: body chunks straight into a file under
    ``$BENCH_STORE_ROOT`` (no signature, hash, fsync or atomic publishing)."""
    root = Path(os.environ[STORE_ROOT_ENV])
    root.mkdir(parents=True, exist_ok=True)

    async def stream_to_file(request: Request) -> Response:
        path = root / Path(request.path_params["name"]).name
        with path.open("wb") as out:
            async for chunk in request.stream():
                out.write(chunk)
        return Response(status_code=201)

    return Starlette(routes=[Route(BARE_PUT_PATH, stream_to_file, methods=["PUT"])])


def durable_put_app() -> Starlette:
    """A streaming PUT as durable as filegate's, and no more: body chunks into a temporary
    file, fsynced (off the loop, as any server with concurrent uploads would), renamed into
    place and the folder fsynced (no signature, hash or length bound)."""
    root = Path(os.environ[STORE_ROOT_ENV])
    root.mkdir(parents=True, exist_ok=True)

    async def stream_durably(request: Request) -> Response:
        final = root / Path(request.path_params["name"]).name
        temporary = final.with_suffix(".part")
        with temporary.open("wb") as out:
            async for chunk in request.stream():
                out.write(chunk)
            out.flush()
            await to_thread.run_sync(os.fsync, out.fileno())
        temporary.rename(final)
        await to_thread.run_sync(fsync_dir, root)
        return Response(status_code=201)

    return Starlette(routes=[Route(DURABLE_PUT_PATH, stream_durably, methods=["PUT"])])
