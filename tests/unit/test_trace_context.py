"""The trace context in filegate's queue envelope, and the OpenTelemetry side of the port."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import NoOpTracerProvider, StatusCode

from filegate.adapters.tracing import OtelTracer
from filegate.domain.errors import ErrorCode, FilegateError
from filegate.domain.messages import encode_object_created, parse_events
from filegate.domain.models import ObjectCreated
from filegate.domain.tracing import NO_TRACING, SpanKind, valid_trace_parent, webhook_delivery
from tests.unit.test_messages import s3_body, s3_record

TRACE_PARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
MALFORMED = [
    "",
    "junk",
    42,
    None,
    ["00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"],
    "01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",  # an unknown version
    "00-0AF7651916CD43DD8448EB211C80319C-B7AD6B7169203331-01",  # upper case
    "00-00000000000000000000000000000000-b7ad6b7169203331-01",  # the invalid trace id
    "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",  # the invalid span id
    "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra",
    "00-0af7651916cd43dd8448eb211c80319-b7ad6b7169203331-01",  # a short trace id
]


def envelope(**fields: object) -> str:
    document = {"v": 1, "type": "object.created", "key": "k", "size": 1, "etag": "e", **fields}
    return json.dumps(document)


# -- the envelope ----------------------------------------------------------------------------


def test_an_events_trace_context_survives_the_round_trip() -> None:
    event = ObjectCreated("owner/file", 12, "etag", trace_parent=TRACE_PARENT)

    body = encode_object_created(event)

    assert json.loads(body)["traceparent"] == TRACE_PARENT
    assert parse_events(body) == [event]


def test_an_event_without_context_writes_no_field() -> None:
    body = encode_object_created(ObjectCreated("owner/file", 12, "etag"))

    assert "traceparent" not in json.loads(body)
    assert parse_events(body)[0].trace_parent is None


@pytest.mark.parametrize("value", MALFORMED)
def test_a_malformed_context_is_ignored_and_the_event_still_handled(value: object) -> None:
    [event] = parse_events(envelope(traceparent=value))

    assert event == ObjectCreated("k", 1, "e")
    assert valid_trace_parent(value) is None


def test_an_s3_notification_carries_no_context() -> None:
    [event] = parse_events(s3_body(s3_record("owner/file")))

    assert event.trace_parent is None


# -- the OpenTelemetry adapter ---------------------------------------------------------------


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def tracer(exporter: InMemorySpanExporter) -> Iterator[OtelTracer]:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield OtelTracer(provider)
    provider.shutdown()


def only(exporter: InMemorySpanExporter, name: str) -> ReadableSpan:
    [span] = [s for s in exporter.get_finished_spans() if s.name == name]
    return span


def test_a_span_without_a_parent_starts_a_trace_and_its_context_continues_it(
    tracer: OtelTracer, exporter: InMemorySpanExporter
) -> None:
    with tracer.span("first") as first:
        context = first.trace_parent
    with tracer.span("second", parent=context, kind=SpanKind.CONSUMER) as second:
        assert valid_trace_parent(second.trace_parent) is not None

    root, child = only(exporter, "first"), only(exporter, "second")
    assert root.parent is None
    assert child.parent is not None and root.context is not None
    assert child.parent.span_id == root.context.span_id
    assert child.context is not None and child.context.trace_id == root.context.trace_id
    assert context is not None
    assert context.startswith(f"00-{root.context.trace_id:032x}-{root.context.span_id:016x}-")


@pytest.mark.parametrize("value", ["junk", "00-" + "0" * 32 + "-b7ad6b7169203331-01"])
def test_an_invalid_parent_starts_a_new_trace(
    tracer: OtelTracer, exporter: InMemorySpanExporter, value: str
) -> None:
    with tracer.span("orphan", parent=value, links=(value, None)):
        pass

    span = only(exporter, "orphan")
    assert span.parent is None
    assert list(span.links) == []


def test_links_name_the_spans_given(tracer: OtelTracer, exporter: InMemorySpanExporter) -> None:
    with tracer.span("request") as request, tracer.span("file", links=(request.trace_parent,)):
        pass

    [link] = only(exporter, "file").links
    request_context = only(exporter, "request").context
    assert request_context is not None and link.context.span_id == request_context.span_id
    assert only(exporter, "file").parent is None  # linked, not a child


def test_a_failure_marks_the_span_with_a_stable_code_and_propagates(
    tracer: OtelTracer, exporter: InMemorySpanExporter
) -> None:
    with pytest.raises(FilegateError), tracer.span("refused"):
        raise FilegateError(ErrorCode.QUOTA_EXCEEDED, "The owner has 3 files; the limit is 3.")
    with tracer.span("marked") as span:
        span.fail("BackendUnavailable")

    refused, marked = only(exporter, "refused"), only(exporter, "marked")
    assert (refused.status.status_code, refused.status.description) == (
        StatusCode.ERROR,
        "QUOTA_EXCEEDED",
    )
    assert [event.name for event in refused.events] == ["exception"]
    assert (marked.status.status_code, marked.status.description) == (
        StatusCode.ERROR,
        "BackendUnavailable",
    )


def test_a_webhook_delivery_joins_the_events_trace(
    tracer: OtelTracer, exporter: InMemorySpanExporter
) -> None:
    with tracer.span("file.register") as registration:
        pass

    with webhook_delivery(
        tracer, registration.trace_parent, "orders", event_id="evt_1", event_type="file.ready"
    ):
        pass

    delivery, root = only(exporter, "webhook.deliver"), only(exporter, "file.register")
    assert delivery.parent is not None and root.context is not None
    assert delivery.parent.span_id == root.context.span_id
    assert dict(delivery.attributes or {}) == {
        "filegate.webhook.endpoint": "orders",
        "filegate.event.id": "evt_1",
        "filegate.event.type": "file.ready",
    }
    assert delivery.kind.name == "CLIENT"


def test_on_the_no_op_provider_a_new_trace_has_no_context_and_a_given_one_passes_on() -> None:
    tracer = OtelTracer(NoOpTracerProvider())

    with tracer.span("x") as root, tracer.span("y", parent=TRACE_PARENT) as child:
        root.set("filegate.file.id", "f")
        root.fail("nothing")
        assert (root.trace_parent, child.trace_parent) == (None, TRACE_PARENT)


def test_the_cores_default_tracer_has_no_context_at_all() -> None:
    with NO_TRACING.span("x", parent=TRACE_PARENT) as span:
        assert span.trace_parent is None
