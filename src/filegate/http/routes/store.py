"""The local store's own HTTP face: signed PUT (streamed, verified) and signed GET/HEAD."""

from __future__ import annotations

import re
from collections.abc import AsyncGenerator
from contextlib import aclosing
from dataclasses import dataclass

import anyio
from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse
from starlette.requests import ClientDisconnect

from filegate.domain.errors import ErrorCode, FilegateError
from filegate.domain.filenames import content_disposition
from filegate.domain.models import DownloadTerms, ObjectInfo, UploadSpec
from filegate.domain.ports import ServedStore, UploadGate
from filegate.http.problems import problem_response

_SINGLE_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


def store_router(store: ServedStore, gate: UploadGate) -> APIRouter:
    """``PUT /store/{key}`` and ``GET``/``HEAD /store/{key}``, authorised by signed URLs."""
    router = APIRouter(include_in_schema=False)

    @router.put("/store/{key:path}")
    async def put_object(key: str, request: Request) -> Response:
        spec = _admissible_upload(store, key, request)
        if await store.exists(key):
            raise FilegateError(ErrorCode.ALREADY_UPLOADED, "The object is already uploaded.")
        await gate.admit(key)
        async with aclosing(_body(request)) as body:
            written = await store.write_upload(key, body, spec)
        await _commit_or_remove(store, gate, written.info)
        return Response(status_code=200, headers={"ETag": _quoted(written.sha256)})

    @router.api_route("/store/{key:path}", methods=["GET", "HEAD"])
    async def get_object(key: str, request: Request) -> Response:
        terms = store.verify_download(key, request.query_params.multi_items())
        info = await store.head(key)
        if info is None:
            raise FilegateError(ErrorCode.NOT_FOUND, "No such object.")
        return _serve(store, terms, info, request)

    return router


def _admissible_upload(store: ServedStore, key: str, request: Request) -> UploadSpec:
    """The upload a signed PUT may perform: signature, expiry, then the request's headers.

    Without ``Content-Length`` (chunked) the length is enforced while streaming.
    """
    spec = store.verify_upload(key, request.query_params.multi_items())
    if request.headers.get("content-type", "").strip() != spec.content_type:
        raise FilegateError(ErrorCode.SIGNATURE_MISMATCH, "Content-Type differs from the URL's.")
    declared = request.headers.get("content-length")
    if declared is not None and declared.strip() != str(spec.size):
        raise FilegateError(ErrorCode.LENGTH_MISMATCH, "Content-Length differs from the URL's.")
    return spec


async def _body(request: Request) -> AsyncGenerator[bytes, None]:
    try:
        async for chunk in request.stream():
            yield chunk
    except ClientDisconnect as exc:
        # Nobody reads this answer; it keeps a dropped upload out of the error log.
        raise FilegateError(ErrorCode.LENGTH_MISMATCH, "The client went away.") from exc


async def _commit_or_remove(store: ServedStore, gate: UploadGate, info: ObjectInfo) -> None:
    try:
        await gate.commit(info.key, info)
    except BaseException:
        with anyio.CancelScope(shield=True):
            await store.delete(info.key)
        raise


@dataclass(frozen=True)
class ByteRange:
    """Bytes ``[start, stop)`` of a representation."""

    start: int
    stop: int


class UnsatisfiableRange(ValueError):
    """A well-formed range that selects no byte of the representation."""


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """The single byte range ``header`` asks for, or ``None`` to serve the whole object.

    Forms: ``bytes=a-b``, ``bytes=a-``, ``bytes=-n``. Anything else (other units, several
    ranges, malformed) is ignored, as RFC 9110 allows. Raises :class:`UnsatisfiableRange`
    when no requested byte exists.
    """
    match = _SINGLE_RANGE.fullmatch((header or "").strip())
    if match is None or match.groups() == ("", ""):
        return None
    first, last = match.groups()
    if not first:
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise UnsatisfiableRange(header)
        return ByteRange(max(0, size - suffix), size)
    start = int(first)
    if last and int(last) < start:
        return None
    if start >= size:
        raise UnsatisfiableRange(header)
    stop = size if not last else min(int(last) + 1, size)
    return ByteRange(start, stop)


def _serve(
    store: ServedStore, terms: DownloadTerms, info: ObjectInfo, request: Request
) -> Response:
    """200, 206, 304 or 416 for ``info`` as ``terms`` say, streaming the selected bytes."""
    etag = _quoted(info.etag)
    max_age = int(store.time_left(terms.expires_at).total_seconds())
    headers = {
        "ETag": etag,
        "Cache-Control": f"private, max-age={max_age}",
        "X-Content-Type-Options": "nosniff",
        "Accept-Ranges": "bytes",
    }
    if _etag_matches(request.headers.get("if-none-match"), info.etag):
        return Response(status_code=304, headers=headers)
    try:
        byte_range = _requested_range(request, etag, info.size)
    except UnsatisfiableRange:
        return problem_response(
            ErrorCode.RANGE_NOT_SATISFIABLE,
            "The range selects no byte of the object.",
            headers={**headers, "Content-Range": f"bytes */{info.size}"},
        )
    selected = byte_range or ByteRange(0, info.size)
    headers["Content-Type"] = terms.content_type
    headers["Content-Length"] = str(selected.stop - selected.start)
    headers["Content-Disposition"] = content_disposition(terms.filename, inline=terms.inline)
    status = 200
    if byte_range is not None:
        status = 206
        headers["Content-Range"] = f"bytes {selected.start}-{selected.stop - 1}/{info.size}"
    if request.method == "HEAD":
        return Response(status_code=status, headers=headers)
    chunks = store.read_range(info.key, selected.start, selected.stop)
    return StreamingResponse(chunks, status_code=status, headers=headers)


def _requested_range(request: Request, etag: str, size: int) -> ByteRange | None:
    if_range = request.headers.get("if-range")
    if if_range is not None and if_range.strip() != etag:
        return None  # the client's copy is stale: send everything
    return parse_range(request.headers.get("range"), size)


def _etag_matches(if_none_match: str | None, etag: str) -> bool:
    """Weak comparison, as RFC 9110 asks for ``If-None-Match``."""
    if if_none_match is None:
        return False
    tags = {tag.strip().removeprefix("W/").strip('"') for tag in if_none_match.split(",")}
    return "*" in tags or etag in tags


def _quoted(etag: str) -> str:
    return f'"{etag}"'
