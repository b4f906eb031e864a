"""What the SDK does, as generators of HTTP calls: one implementation for both clients.

A flow yields a :class:`Call` and receives its ``httpx.Response``; the sync and async
clients drive the same flows, each with its own I/O (and retries of transient failures:
a flow only ever sees the final answer of a call). Failures that remain after the retries
are thrown into the flow, which may handle them.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import httpx

from filegate_client._calls import Body, Call, Flow, Report, checked, file_path
from filegate_client._multipart import upload_parts
from filegate_client._sources import Blob, PreparedSource
from filegate_client.errors import (
    FilegateAPIError,
    WaitTimeoutError,
    api_error,
    error_from_problem,
)
from filegate_client.models import Declaration, File, FileState, Page, UploadInstructions
from filegate_client.progress import UploadPhase

MAX_WAIT_PER_POLL = 30.0
"""The server's cap on one long-poll (``?wait=``)."""
LONG_POLL_MARGIN = 10.0
URL_REFRESHES = 2


# --- single calls ------------------------------------------------------------------------


def get_file(file_id: str, wait: float = 0) -> Flow[File]:
    params = {"wait": round(wait, 3)} if wait > 0 else None
    timeout = wait + LONG_POLL_MARGIN if wait > 0 else None
    response = yield Call("GET", file_path(file_id), params=params, timeout=timeout)
    return File.from_json(checked(response, 200).json())


def list_page(state: FileState | str | None, limit: int, cursor: str | None) -> Flow[Page]:
    params: dict[str, str | int | float] = {"limit": limit}
    if state is not None:
        params["state"] = FileState(state).value
    if cursor is not None:
        params["cursor"] = cursor
    response = yield Call("GET", "/v1/files", params=params)
    return Page.from_json(checked(response, 200).json())


def register(declaration: Declaration, idempotency_key: str) -> Flow[File]:
    """Register one file; retried safely thanks to the ``Idempotency-Key``."""
    headers = {"Idempotency-Key": idempotency_key}
    response = yield Call("POST", "/v1/files", json=declaration.to_json(), headers=headers)
    return File.from_json(checked(response, 201).json())


def register_many(declarations: Sequence[Declaration]) -> Flow[list[File | FilegateAPIError]]:
    """One batch call; each item is its file or its own error, in the order sent."""
    body = {"files": [d.to_json() for d in declarations]}
    response = yield Call("POST", "/v1/files/batch", json=body, idempotent=False)
    items = checked(response, 201).json()["files"]
    return [error_from_problem(i["error"]) if "error" in i else File.from_json(i) for i in items]


def delete(file_id: str) -> Flow[None]:
    response = yield Call("DELETE", file_path(file_id))
    checked(response, 204)


def content_location(file_id: str) -> Flow[str]:
    """The signed download URL the API redirects to (absolute)."""
    response = yield Call("GET", file_path(file_id, "/content"))
    location = checked(response, 307, 302, 303).headers["location"]
    return str(response.url.join(location))


def wait_final(file_id: str, timeout: float) -> Flow[File]:
    """Long-poll until the file is final; :class:`WaitTimeoutError` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        remaining = max(0.0, deadline - time.monotonic())
        file = yield from get_file(file_id, wait=min(remaining, MAX_WAIT_PER_POLL))
        if file.is_final:
            return file
        if time.monotonic() >= deadline:
            raise WaitTimeoutError(file, timeout)


def fresh_instructions(file_id: str) -> Flow[UploadInstructions]:
    response = yield Call("POST", file_path(file_id, "/upload-url"))
    return UploadInstructions.from_json(checked(response, 200).json()["upload"])


def complete(file_id: str) -> Flow[File]:
    response = yield Call("POST", file_path(file_id, "/complete"))
    return File.from_json(checked(response, 202, 200).json())


# --- uploads -----------------------------------------------------------------------------


@dataclass(frozen=True)
class UploadOptions:
    wait: bool = False
    wait_timeout: float = 60.0


def upload(
    prepared: PreparedSource, idempotency_key: str, options: UploadOptions, report: Report
) -> Flow[File]:
    """Register the source (with its SHA-256), send its bytes, optionally wait for the verdict.

    A registration answered with an existing ready file (the owner already has these
    bytes) uploads nothing.
    """
    file = yield from register(prepared.declaration, idempotency_key)
    if file.state is FileState.REGISTERED:
        file = yield from send_bytes(file, prepared.blob, report)
    if options.wait and not file.is_final:
        report(UploadPhase.VERIFYING, file.size, file.size)
        file = yield from wait_final(file.id, options.wait_timeout)
    return file


def send_bytes(file: File, blob: Blob, report: Report) -> Flow[File]:
    """Upload ``blob`` as the bytes of the registered ``file``, then signal completion.

    Uses ``file.upload`` when present, else asks for fresh instructions. A multipart
    upload resumes from the parts the store already holds.
    """
    instructions = file.upload or (yield from fresh_instructions(file.id))
    if instructions.is_multipart:
        return (yield from upload_parts(file.id, instructions, blob, report))
    yield from _put_whole(file.id, instructions, blob, report)
    return (yield from complete(file.id))


def _put_whole(
    file_id: str, instructions: UploadInstructions, blob: Blob, report: Report
) -> Flow[None]:
    def sent(done: int) -> None:
        report(UploadPhase.UPLOADING, done, blob.size)

    for refresh in range(URL_REFRESHES + 1):
        body = Body(blob, 0, blob.size, sent)
        call = Call(
            instructions.method, instructions.url, headers=instructions.headers, body=body,
            signed=True,
        )  # fmt: skip
        response = yield call
        if response.is_success or _already_stored(response):
            return
        if not _url_expired(response) or refresh == URL_REFRESHES:
            raise api_error(response)
        instructions = yield from fresh_instructions(file_id)


def _already_stored(response: httpx.Response) -> bool:
    """A write-once store refusing a second write: an earlier try did store the bytes."""
    return response.status_code == 412 or (
        response.status_code == 409 and api_error(response).code == "ALREADY_UPLOADED"
    )


def _url_expired(response: httpx.Response) -> bool:
    if response.status_code != 403:
        return False
    error = api_error(response)
    return error.code == "URL_EXPIRED" or "expired" in error.detail.lower()
