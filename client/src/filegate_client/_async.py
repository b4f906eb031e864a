"""The asyncio client (``httpx.AsyncClient``): the same flows as :class:`Client`, awaited.

Blocking work (hashing a source, reading a file to send, writing a download to disk) runs
in threads, so the event loop never waits on the disk.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from types import TracebackType
from typing import Any, Self, TypeVar

import httpx

from filegate_client import _flows as flows
from filegate_client._calls import Body, Call, Flow
from filegate_client._download import Destination, Sink, open_sink
from filegate_client._jobs import UploadJob, batches, reporter
from filegate_client._retry import DEFAULT_RETRIES, RetryPolicy
from filegate_client._sources import Source, prepare, source_label
from filegate_client._transport import (
    USER_AGENT,
    Attempts,
    as_policy,
    as_timeout,
    request_arguments,
    resolve_token,
    resolve_url,
)
from filegate_client.errors import (
    DestinationError,
    FilegateAPIError,
    FilegateClientError,
    FilegateConnectionError,
    api_error,
)
from filegate_client.models import Declaration, File, FileState, Page
from filegate_client.progress import ProgressCallback, UploadOutcome

T = TypeVar("T")


class AsyncClient:
    """The asyncio twin of :class:`~filegate_client.Client`: same arguments, same contracts,
    every method awaited (``list`` is an async iterator). Use ``async with``, or ``aclose``.
    """

    def __init__(
        self,
        url: str | None = None,
        token: str | None = None,
        *,
        timeout: float | httpx.Timeout | None = None,
        retries: RetryPolicy | int = DEFAULT_RETRIES,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.url = resolve_url(url)
        self._token = resolve_token(token)
        self._timeout = as_timeout(timeout)
        self._retries = as_policy(retries)
        self._http = httpx.AsyncClient(
            base_url=self.url,
            timeout=self._timeout,
            transport=transport,
            headers={"User-Agent": USER_AGENT},
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    # --- files ---------------------------------------------------------------------------

    async def register(
        self,
        filename: str,
        content_type: str,
        size: int,
        sha256: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> File:
        """As :meth:`Client.register`."""
        declaration = Declaration(filename, content_type, size, sha256, dict(metadata or {}))
        return await self._run(flows.register(declaration, idempotency_key or uuid.uuid4().hex))

    async def register_many(
        self, declarations: Iterable[Declaration], batch_size: int = 500
    ) -> builtins.list[File | FilegateAPIError]:
        """As :meth:`Client.register_many`."""
        results: builtins.list[File | FilegateAPIError] = []
        for batch in batches(builtins.list(declarations), batch_size):
            results.extend(await self._run(flows.register_many(batch)))
        return results

    async def get(self, file_id: str) -> File:
        """As :meth:`Client.get`."""
        return await self._run(flows.get_file(file_id))

    async def wait(self, file_id: str, timeout: float = 60.0) -> File:  # noqa: ASYNC109
        """As :meth:`Client.wait`."""
        return await self._run(flows.wait_final(file_id, timeout))

    async def list(
        self, state: FileState | str | None = None, page_size: int = 100
    ) -> AsyncIterator[File]:
        """As :meth:`Client.list`: ``async for file in client.list(): ...``."""
        cursor: str | None = None
        while True:
            page = await self.list_page(state, page_size, cursor)
            for file in page.files:
                yield file
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    async def list_page(
        self, state: FileState | str | None = None, limit: int = 100, cursor: str | None = None
    ) -> Page:
        """As :meth:`Client.list_page`."""
        return await self._run(flows.list_page(state, limit, cursor))

    async def delete(self, file_id: str) -> None:
        """As :meth:`Client.delete`."""
        await self._run(flows.delete(file_id))

    # --- bytes ---------------------------------------------------------------------------

    async def upload(
        self,
        source: Source,
        *,
        content_type: str | None = None,
        filename: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        wait: bool = False,
        wait_timeout: float = 60.0,
        idempotency_key: str | None = None,
        progress: ProgressCallback | None = None,
    ) -> File:
        """As :meth:`Client.upload`."""
        job = UploadJob(0, source, filename, content_type, dict(metadata or {}), idempotency_key)
        return await self._upload(job, flows.UploadOptions(wait, wait_timeout), progress)

    async def upload_to(
        self, file: File | str, source: Source, progress: ProgressCallback | None = None
    ) -> File:
        """As :meth:`Client.upload_to`."""
        prepared = await asyncio.to_thread(prepare, source)
        try:
            if isinstance(file, str):
                file = await self.get(file)
            report = reporter(progress, 0, source_label(source, None, 0))
            return await self._run(flows.send_bytes(file, prepared.blob, report))
        finally:
            prepared.close()

    async def upload_many(
        self,
        sources: Iterable[Source],
        *,
        parallel: int = 4,
        content_type: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        wait: bool = False,
        wait_timeout: float = 60.0,
        progress: ProgressCallback | None = None,
        on_outcome: Callable[[UploadOutcome], None] | None = None,
    ) -> builtins.list[UploadOutcome]:
        """As :meth:`Client.upload_many` (``parallel`` uploads in flight at once)."""
        options = flows.UploadOptions(wait, wait_timeout)
        extra = dict(metadata or {})
        jobs = [UploadJob(i, s, None, content_type, extra) for i, s in enumerate(sources)]
        slots = asyncio.Semaphore(max(1, parallel))

        async def one(job: UploadJob) -> UploadOutcome:
            async with slots:
                try:
                    file = await self._upload(job, options, progress)
                except FilegateClientError as exc:
                    outcome = UploadOutcome(job.index, job.label, error=exc)
                else:
                    outcome = UploadOutcome(job.index, job.label, file=file)
            if on_outcome is not None:
                on_outcome(outcome)
            return outcome

        return builtins.list(await asyncio.gather(*(one(job) for job in jobs)))

    async def download(self, file_id: str, destination: Destination) -> File:
        """As :meth:`Client.download`."""
        file = await self.get(file_id)
        location = await self._run(flows.content_location(file_id))
        sink = open_sink(destination, file.filename, file.id)
        try:
            await self._fetch(location, sink)
            await asyncio.to_thread(sink.finish, file.sha256)
        except OSError as exc:
            sink.abort()
            raise DestinationError(f"cannot write the download: {exc}") from exc
        except BaseException:
            sink.abort()
            raise
        return file

    # --- driving flows -------------------------------------------------------------------

    async def _upload(
        self, job: UploadJob, options: flows.UploadOptions, progress: ProgressCallback | None
    ) -> File:
        report = reporter(progress, job.index, job.label)
        prepared = await asyncio.to_thread(job.prepare, report)
        try:
            return await self._run(job.flow(prepared, options, report))
        finally:
            prepared.close()

    async def _run(self, flow: Flow[T]) -> T:
        try:
            call = next(flow)
            while True:
                try:
                    response = await self._perform(call)
                except FilegateClientError as exc:
                    call = flow.throw(exc)
                else:
                    call = flow.send(response)
        except StopIteration as stop:
            result: T = stop.value
            return result

    async def _perform(self, call: Call) -> httpx.Response:
        attempts = Attempts(self._retries, call.method, call.url, call.idempotent)
        while True:
            try:
                response = await self._send(call)
            except httpx.TransportError as exc:
                delay = attempts.after_error(exc)
            else:
                answer = attempts.after_response(response)
                if answer is None:
                    return response
                delay = answer
            await asyncio.sleep(delay)

    async def _send(self, call: Call) -> httpx.Response:
        arguments = request_arguments(call, self._token, self._timeout)
        content = _body_chunks(call.body) if call.body is not None else None
        request = self._http.build_request(call.method, call.url, content=content, **arguments)
        return await self._http.send(request)

    async def _fetch(self, url: str, sink: Sink) -> None:
        attempts = Attempts(self._retries, "GET", url, idempotent=True)
        while True:
            try:
                async with self._http.stream("GET", url) as response:
                    delay = await _stream_into(response, sink, attempts)
                if delay is None:
                    return
            except httpx.TransportError as exc:
                if not sink.restartable:
                    raise FilegateConnectionError(f"download interrupted: {exc}") from exc
                delay = attempts.after_error(exc)
            sink.restart()
            await asyncio.sleep(delay)


async def _stream_into(response: httpx.Response, sink: Sink, attempts: Attempts) -> float | None:
    """Write a successful answer into ``sink`` (``None``); else the delay before a retry."""
    if not response.is_success:
        await response.aread()
        delay = attempts.after_response(response)
        if delay is None:
            raise api_error(response)
        return delay
    async for chunk in response.aiter_bytes():
        await asyncio.to_thread(sink.write, chunk)
    return None


async def _body_chunks(body: Body) -> AsyncIterator[bytes]:
    sent = 0
    body.on_sent(0)
    chunks = body.blob.chunks(body.offset, body.length)
    try:
        while True:
            if body.blob.blocking:
                chunk = await asyncio.to_thread(next, chunks, None)
            else:
                chunk = next(chunks, None)
            if chunk is None:
                return
            yield chunk
            sent += len(chunk)
            body.on_sent(sent)
    finally:
        # A cancelled upload may leave the generator running in its thread; it then
        # closes its file itself when it is collected.
        with contextlib.suppress(ValueError):
            chunks.close()
