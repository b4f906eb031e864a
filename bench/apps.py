"""ASGI app factories that the benchmark servers run (``uvicorn bench.apps:... --factory``).

They take their configuration from the environment variables named below, set by the
benchmark that starts them.
"""

from __future__ import annotations

from fastapi import FastAPI
from pydantic import BaseModel

ECHO_PATH = "/echo"


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
