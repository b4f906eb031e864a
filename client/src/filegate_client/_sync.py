"""The synchronous client (``httpx.Client``); thread-safe, so ``upload_many`` uses threads."""

from __future__ import annotations

import builtins
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
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


class Client:
    """A filegate API client.

    ``url`` defaults to ``FILEGATE_URL`` (else ``http://127.0.0.1:8000``) and ``token`` to
    ``FILEGATE_TOKEN``. Transient failures (connection errors, 429, 5xx) are retried per
    ``retries`` (a :class:`RetryPolicy` or a number of attempts) with exponential backoff
    and jitter, honouring ``Retry-After``; requests that are not idempotent are repeated only
    when the server certainly did nothing. Use it as a context manager, or call :meth:`close`.
    """

    def __init__(
        self,
        url: str | None = None,
        token: str | None = None,
        *,
        timeout: float | httpx.Timeout | None = None,
        retries: RetryPolicy | int = DEFAULT_RETRIES,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = resolve_url(url)
        self._token = resolve_token(token)
        self._timeout = as_timeout(timeout)
        self._retries = as_policy(retries)
        self._http = httpx.Client(
            base_url=self.url,
            timeout=self._timeout,
            transport=transport,
            headers={"User-Agent": USER_AGENT},
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # --- files ---------------------------------------------------------------------------

    def register(
        self,
        filename: str,
        content_type: str,
        size: int,
        sha256: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> File:
        """Declare a file; the answer carries its ``upload`` instructions.

        Retries reuse one ``Idempotency-Key`` (generated when not given), so a retried
        registration returns the same file.
        """
        declaration = Declaration(filename, content_type, size, sha256, dict(metadata or {}))
        return self._run(flows.register(declaration, idempotency_key or uuid.uuid4().hex))

    def register_many(
        self, declarations: Iterable[Declaration], batch_size: int = 500
    ) -> builtins.list[File | FilegateAPIError]:
        """Register many files in batch calls; each gets its file or its own error, in order."""
        results: builtins.list[File | FilegateAPIError] = []
        for batch in batches(builtins.list(declarations), batch_size):
            results.extend(self._run(flows.register_many(batch)))
        return results

    def get(self, file_id: str) -> File:
        """The file now (``NotFoundError`` if it is missing or another owner's)."""
        return self._run(flows.get_file(file_id))

    def wait(self, file_id: str, timeout: float = 60.0) -> File:
        """The file once it is ready, rejected, expired or deleted (long-polling).

        Raises :class:`~filegate_client.errors.WaitTimeoutError` after ``timeout`` seconds.
        """
        return self._run(flows.wait_final(file_id, timeout))

    def list(self, state: FileState | str | None = None, page_size: int = 100) -> Iterator[File]:
        """Every file of the caller, newest first, fetching pages as the iteration goes."""
        cursor: str | None = None
        while True:
            page = self.list_page(state, page_size, cursor)
            yield from page.files
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def list_page(
        self, state: FileState | str | None = None, limit: int = 100, cursor: str | None = None
    ) -> Page:
        """One page of the listing; pass its ``next_cursor`` to get the next."""
        return self._run(flows.list_page(state, limit, cursor))

    def delete(self, file_id: str) -> None:
        """Delete the file and its bytes (deleting a deleted file is not an error)."""
        self._run(flows.delete(file_id))

    # --- bytes ---------------------------------------------------------------------------

    def upload(
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
        """Upload a path, bytes or binary stream; the file as it is afterwards.

        Hashes the source first (streaming), registers it with its SHA-256 and a type from
        its magic bytes (or ``content_type``), streams the bytes to the signed URL with
        exactly the signed headers (in parts when the server says MULTIPART), retrying
        transient failures and asking a fresh URL when one expired. With ``wait``, returns
        only once verification decided (``WaitTimeoutError`` after ``wait_timeout``);
        a rejected file is returned, not raised.
        """
        job = UploadJob(0, source, filename, content_type, dict(metadata or {}), idempotency_key)
        return self._upload(job, flows.UploadOptions(wait, wait_timeout), progress)

    def upload_to(
        self, file: File | str, source: Source, progress: ProgressCallback | None = None
    ) -> File:
        """Upload the bytes of a file registered earlier (or resume its multipart upload)."""
        prepared = prepare(source)
        try:
            if isinstance(file, str):
                file = self.get(file)
            report = reporter(progress, 0, source_label(source, None, 0))
            return self._run(flows.send_bytes(file, prepared.blob, report))
        finally:
            prepared.close()

    def upload_many(
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
        """Upload every source, ``parallel`` at a time; one outcome per source, in order.

        A failure of one source never stops the others: it is that source's ``error``.
        ``on_outcome`` gets each outcome as soon as its upload ends (from a worker thread).
        """
        options = flows.UploadOptions(wait, wait_timeout)
        extra = dict(metadata or {})
        jobs = [UploadJob(i, s, None, content_type, extra) for i, s in enumerate(sources)]

        def one(job: UploadJob) -> UploadOutcome:
            try:
                file = self._upload(job, options, progress)
            except FilegateClientError as exc:
                outcome = UploadOutcome(job.index, job.label, error=exc)
            else:
                outcome = UploadOutcome(job.index, job.label, file=file)
            if on_outcome is not None:
                on_outcome(outcome)
            return outcome

        pool = ThreadPoolExecutor(max_workers=max(1, parallel))
        try:
            return builtins.list(pool.map(one, jobs))
        finally:  # on Ctrl-C, uploads not started yet are not started at all
            pool.shutdown(wait=True, cancel_futures=True)

    def download(self, file_id: str, destination: Destination) -> File:
        """Write the ready file's bytes to ``destination`` and verify their SHA-256.

        A path is written through a temporary file and appears only once verified; a
        folder receives the file under its name. Raises ``ConflictError`` (``NOT_READY``)
        unless the file is ready, and ``DownloadChecksumError`` if the bytes differ.
        """
        file = self.get(file_id)
        location = self._run(flows.content_location(file_id))
        sink = open_sink(destination, file.filename, file.id)
        try:
            self._fetch(location, sink)
            sink.finish(file.sha256)
        except OSError as exc:
            sink.abort()
            raise DestinationError(f"cannot write the download: {exc}") from exc
        except BaseException:
            sink.abort()
            raise
        return file

    # --- driving flows -------------------------------------------------------------------

    def _upload(
        self, job: UploadJob, options: flows.UploadOptions, progress: ProgressCallback | None
    ) -> File:
        report = reporter(progress, job.index, job.label)
        prepared = job.prepare(report)
        try:
            return self._run(job.flow(prepared, options, report))
        finally:
            prepared.close()

    def _run(self, flow: Flow[T]) -> T:
        try:
            call = next(flow)
            while True:
                try:
                    response = self._perform(call)
                except FilegateClientError as exc:
                    call = flow.throw(exc)
                else:
                    call = flow.send(response)
        except StopIteration as stop:
            result: T = stop.value
            return result

    def _perform(self, call: Call) -> httpx.Response:
        attempts = Attempts(self._retries, call.method, call.url, call.idempotent)
        while True:
            try:
                response = self._send(call)
            except httpx.TransportError as exc:
                delay = attempts.after_error(exc)
            else:
                answer = attempts.after_response(response)
                if answer is None:
                    return response
                delay = answer
            time.sleep(delay)

    def _send(self, call: Call) -> httpx.Response:
        arguments = request_arguments(call, self._token, self._timeout)
        content = _body_chunks(call.body) if call.body is not None else None
        request = self._http.build_request(call.method, call.url, content=content, **arguments)
        return self._http.send(request)

    def _fetch(self, url: str, sink: Sink) -> None:
        attempts = Attempts(self._retries, "GET", url, idempotent=True)
        while True:
            try:
                with self._http.stream("GET", url) as response:
                    delay = _stream_into(response, sink, attempts)
                if delay is None:
                    return
            except httpx.TransportError as exc:
                if not sink.restartable:
                    raise FilegateConnectionError(f"download interrupted: {exc}") from exc
                delay = attempts.after_error(exc)
            sink.restart()
            time.sleep(delay)


def _stream_into(response: httpx.Response, sink: Sink, attempts: Attempts) -> float | None:
    """Write a successful answer into ``sink`` (``None``); else the delay before a retry."""
    if not response.is_success:
        response.read()
        delay = attempts.after_response(response)
        if delay is None:
            raise api_error(response)
        return delay
    for chunk in response.iter_bytes():
        sink.write(chunk)
    return None


def _body_chunks(body: Body) -> Iterator[bytes]:
    sent = 0
    body.on_sent(0)
    chunks = body.blob.chunks(body.offset, body.length)
    try:
        for chunk in chunks:
            yield chunk
            sent += len(chunk)
            body.on_sent(sent)
    finally:
        chunks.close()
