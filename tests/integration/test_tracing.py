"""One trace per file, through the real app in-process, the local store and the worker.

The runtime is given an SDK tracer provider whose spans go to an in-memory exporter; the
OTLP set-up itself is checked against a real OTLP/HTTP receiver on loopback.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from pydantic import SecretStr

from filegate.bootstrap.runtime import open_runtime
from filegate.config import Settings, WebhookEndpointSettings
from tests.integration.test_app_inprocess import (  # the autouse fixture clears FILEGATE_*
    BASE,
    SECRET,
    Api,
    no_filegate_environment,
)
from tests.support import images
from tests.support.otlp_collector import running_collector
from tests.support.webhook_receiver import running_receiver

__all__ = ["no_filegate_environment"]


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    yield InMemorySpanExporter()


@pytest.fixture
def provider(exporter: InMemorySpanExporter) -> Iterator[TracerProvider]:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider
    provider.shutdown()


@asynccontextmanager
async def api_with(
    data_dir: Path, provider: TracerProvider | None, **overrides: Any
) -> AsyncIterator[Api]:
    settings = Settings(
        data_dir=data_dir, secret=SecretStr(SECRET), public_url=BASE, decode_workers=1, **overrides
    )
    async with open_runtime(settings, tracer_provider=provider) as runtime:
        transport = httpx.ASGITransport(app=runtime.app(), raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
            yield Api(runtime, client)


@pytest.fixture
async def api(tmp_path: Path, provider: TracerProvider) -> AsyncIterator[Api]:
    async with api_with(tmp_path / "data", provider) as running:
        yield running


class Spans:
    """The finished spans, looked up by name and file."""

    def __init__(self, exporter: InMemorySpanExporter) -> None:
        self.all = list(exporter.get_finished_spans())

    def named(self, name: str, file_id: str | None = None) -> list[ReadableSpan]:
        return [
            s
            for s in self.all
            if s.name == name
            and (file_id is None or (s.attributes or {}).get("filegate.file.id") == file_id)
        ]

    def one(self, name: str, file_id: str | None = None) -> ReadableSpan:
        [span] = self.named(name, file_id)
        return span


def trace_id(span: ReadableSpan) -> int:
    assert span.context is not None
    found: int = span.context.trace_id
    return found


def is_child(child: ReadableSpan, parent: ReadableSpan) -> bool:
    assert parent.context is not None
    return child.parent is not None and child.parent.span_id == parent.context.span_id


def trace_parent_of(span: ReadableSpan) -> str:
    assert span.context is not None
    return f"00-{span.context.trace_id:032x}-{span.context.span_id:016x}"


def s3_notification(key: str, size: int) -> str:
    record = {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "eventName": "ObjectCreated:Put",
        "s3": {"object": {"key": key, "size": size, "eTag": "0123456789abcdef"}},
    }
    return json.dumps({"Records": [record]})


async def put_bytes_behind_filegates_back(api: Api, file_id: str, data: bytes, tmp: Path) -> str:
    """Store the object as S3 would (no commit, no event of filegate's); its key."""
    record = await api.runtime.repository.get(file_id)
    assert record is not None
    source = tmp / "bytes"
    source.write_bytes(data)
    await api.runtime.store.objects.put(record.object_key, source, "image/jpeg")
    return record.object_key


async def test_a_files_spans_share_one_trace_from_registration_to_verification(
    api: Api, exporter: InMemorySpanExporter
) -> None:
    data = images.jpeg_bytes(64, 48)
    file = await api.register(data)
    assert (await api.upload(file, data)).status_code == 200
    await api.run_worker_once()
    spans = Spans(exporter)

    register = spans.one("file.register", file["id"])
    commit = spans.one("file.upload_commit", file["id"])
    verify = spans.one("file.verify", file["id"])
    [examine] = spans.named("file.examine")
    assert register.parent is None
    assert is_child(commit, register) and is_child(verify, commit) and is_child(examine, verify)
    assert len({trace_id(s) for s in (register, commit, verify, examine)}) == 1
    assert (commit.kind, verify.kind) == (SpanKind.PRODUCER, SpanKind.CONSUMER)
    assert register.attributes == {
        "filegate.file.id": file["id"],
        "filegate.registration.outcome": "new",
    }
    assert (commit.attributes or {})["filegate.upload.via"] == "store"
    assert dict(verify.attributes or {}) == {
        "filegate.file.id": file["id"],
        "filegate.trace.context_from": "message",
        "filegate.verify.outcome": "applied",
        "filegate.file.state": "ready",
    }
    stored = await api.runtime.repository.get(file["id"])
    assert stored is not None and stored.trace_parent is not None
    assert stored.trace_parent.startswith(trace_parent_of(register))


async def test_an_s3_notification_without_context_verifies_under_the_files_trace(
    api: Api, exporter: InMemorySpanExporter, tmp_path: Path
) -> None:
    data = images.png_bytes()
    file = await api.register(data, content_type="image/jpeg")
    key = await put_bytes_behind_filegates_back(api, file["id"], data, tmp_path)
    await api.runtime.queue.send_batch([s3_notification(key, len(data))])

    await api.run_worker_once()
    spans = Spans(exporter)

    register, verify = spans.one("file.register", file["id"]), spans.one("file.verify", file["id"])
    assert is_child(verify, register) and trace_id(verify) == trace_id(register)
    assert spans.named("file.upload_commit") == []
    attributes = verify.attributes or {}
    assert attributes["filegate.trace.context_from"] == "file"
    assert (attributes["filegate.file.state"], attributes["filegate.file.reason"]) == (
        "rejected",
        "TYPE_MISMATCH",
    )


async def test_the_clients_complete_is_the_upload_commit_of_the_files_trace(
    api: Api, exporter: InMemorySpanExporter, tmp_path: Path
) -> None:
    data = images.jpeg_bytes()
    file = await api.register(data)
    await put_bytes_behind_filegates_back(api, file["id"], data, tmp_path)

    completed = await api.client.post(f"/v1/files/{file['id']}/complete", headers=api.auth)
    await api.run_worker_once()
    spans = Spans(exporter)

    assert completed.status_code == 202
    register = spans.one("file.register", file["id"])
    commit = spans.one("file.upload_commit", file["id"])
    verify = spans.one("file.verify", file["id"])
    assert (commit.attributes or {})["filegate.upload.via"] == "complete"
    assert is_child(commit, register) and is_child(verify, commit)


async def test_a_batch_registers_each_file_in_its_own_trace_linked_to_the_request(
    api: Api, exporter: InMemorySpanExporter
) -> None:
    pictures = [images.jpeg_bytes(32, 32), images.jpeg_bytes(40, 30)]
    declarations = [
        {
            "filename": f"p{i}.jpg",
            "content_type": "image/jpeg",
            "size": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
        }
        for i, data in enumerate(pictures)
    ]
    declarations.append({"filename": "empty.jpg", "content_type": "image/jpeg", "size": 0})
    response = await api.client.post(
        "/v1/files/batch", json={"files": declarations}, headers=api.auth
    )
    assert response.status_code == 201, response.text
    files = response.json()["files"][:2]
    for file, data in zip(files, pictures, strict=True):
        assert (await api.upload(file, data)).status_code == 200
    await api.run_worker_once()  # both events in one batch
    spans = Spans(exporter)

    request = spans.one("files.register_batch")
    assert request.parent is None and (request.attributes or {})["filegate.batch.size"] == 3
    registrations = [spans.one("file.register", f["id"]) for f in files]
    assert len(spans.named("file.register")) == 2  # the refused one opened none
    assert len({trace_id(s) for s in [request, *registrations]}) == 3
    for file, registration in zip(files, registrations, strict=True):
        [link] = registration.links
        assert request.context is not None and link.context.span_id == request.context.span_id
        verify = spans.one("file.verify", file["id"])
        assert trace_id(verify) == trace_id(registration)
        stored = await api.runtime.repository.get(file["id"])
        assert stored is not None and stored.trace_parent is not None
        assert stored.trace_parent.startswith(trace_parent_of(registration))


async def test_tracing_off_records_nothing_and_carries_no_context(tmp_path: Path) -> None:
    async with api_with(tmp_path / "data", provider=None) as api:
        data = images.jpeg_bytes()
        file = await api.register(data)
        assert (await api.upload(file, data)).status_code == 200
        [message] = await api.runtime.queue.receive(10, timedelta(seconds=0), timedelta(0))
        with api.runtime.tracing.tracer.span("probe") as probe:
            assert probe.trace_parent is None
        await api.run_worker_once()

        stored = await api.runtime.repository.get(file["id"])
        assert stored is not None and (stored.state.value, stored.trace_parent) == ("ready", None)
        assert "traceparent" not in json.loads(message.body)


async def test_otlp_exports_the_files_spans_to_the_configured_endpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with running_collector() as collector:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.endpoint)
        monkeypatch.delenv("OTEL_SERVICE_NAME", raising=False)
        monkeypatch.delenv("OTEL_RESOURCE_ATTRIBUTES", raising=False)
        async with api_with(tmp_path / "data", provider=None, tracing="otlp") as api:
            file = await api.register(images.jpeg_bytes())
            stored = await api.runtime.repository.get(file["id"])
        # Leaving the runtime shut the provider down: its spans are exported by now.

    assert stored is not None and stored.trace_parent is not None
    trace_hex, resource = collector.spans()["file.register"]
    assert stored.trace_parent.split("-")[1] == trace_hex
    assert resource["service.name"] == "filegate"


async def test_a_webhook_delivery_joins_its_files_trace(
    tmp_path: Path, provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    with running_receiver() as receiver:
        hook = WebhookEndpointSettings(name="orders", url=receiver.url, secrets=(secret,))
        hooks = {"webhooks": (hook,), "webhook_allow_http": True, "webhook_allow_private": True}
        async with api_with(tmp_path / "data", provider, **hooks) as api:
            data = images.jpeg_bytes(64, 48)
            file = await api.register(data)
            assert (await api.upload(file, data)).status_code == 200
            await api.run_worker_once()
            webhooks = api.runtime.webhooks
            assert webhooks is not None
            assert await webhooks.relay.relay_all() == 1
            messages = await webhooks.queue.receive(10, timedelta(seconds=30), timedelta(0))
            result = await webhooks.processor().process(messages)
        assert len(result.succeeded) == 1
        assert len(receiver.requests) == 1

    spans = Spans(exporter)
    register = spans.one("file.register", file["id"])
    [deliver] = spans.named("webhook.deliver")
    assert trace_id(deliver) == trace_id(register)
    assert deliver.kind == SpanKind.CLIENT
    assert (deliver.attributes or {})["filegate.webhook.endpoint"] == "orders"
    assert (deliver.attributes or {})["filegate.event.type"] == "file.ready"
