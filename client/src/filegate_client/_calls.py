"""The vocabulary of flows: the HTTP calls they yield, and helpers to read the answers."""

from __future__ import annotations

from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import quote

import httpx

from filegate_client._sources import Blob
from filegate_client.errors import api_error
from filegate_client.progress import UploadPhase

T = TypeVar("T")


@dataclass(frozen=True)
class Body:
    """``length`` bytes of ``blob`` from ``offset``, streamed as a request body.

    ``on_sent`` gets the bytes of this body sent so far (from 0 again on every try).
    """

    blob: Blob
    offset: int
    length: int
    on_sent: Callable[[int], None]


@dataclass(frozen=True)
class Call:
    """One HTTP request of a flow.

    ``url`` is an API path (joined to the client's base URL) or an absolute signed URL.
    ``signed`` calls carry no bearer token: the URL is their authorisation.
    ``idempotent`` calls are retried after any transient failure; others only when the
    server certainly did nothing.
    """

    method: str
    url: str
    params: Mapping[str, str | int | float] | None = None
    json: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    body: Body | None = None
    signed: bool = False
    idempotent: bool = True
    timeout: float | None = None


Flow = Generator[Call, httpx.Response, T]
Report = Callable[[UploadPhase, int, int], None]
"""Receives (phase, done, total) while an upload runs."""


def checked(response: httpx.Response, *statuses: int) -> httpx.Response:
    """``response`` if its status is one of ``statuses`` (any 2xx if none given)."""
    if response.status_code in statuses or (not statuses and response.is_success):
        return response
    raise api_error(response)


def file_path(file_id: str, suffix: str = "") -> str:
    return f"/v1/files/{quote(file_id, safe='')}{suffix}"
