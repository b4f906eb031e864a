"""The tracing port over the OpenTelemetry API (:mod:`filegate.domain.tracing`).

Only the API (a base dependency) is imported here: the tracer provider it is given decides
whether anything is recorded. The API's no-op provider records nothing: a span that starts
a trace has no context (so new files and their events carry none), and one given a parent
passes the parent's context on unchanged. The SDK's provider
(:mod:`filegate.bootstrap.tracing`, the ``otel`` extra) records and exports.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.trace.status import Status, StatusCode

from filegate.domain.errors import FilegateError
from filegate.domain.tracing import AttributeValue, Span, SpanKind, valid_trace_parent

INSTRUMENTATION_NAME = "filegate"

_PROPAGATOR = TraceContextTextMapPropagator()
_KINDS = {
    SpanKind.INTERNAL: trace.SpanKind.INTERNAL,
    SpanKind.SERVER: trace.SpanKind.SERVER,
    SpanKind.CLIENT: trace.SpanKind.CLIENT,
    SpanKind.PRODUCER: trace.SpanKind.PRODUCER,
    SpanKind.CONSUMER: trace.SpanKind.CONSUMER,
}


class OtelTracer:
    """A ``Tracer`` over ``provider``'s tracer for filegate."""

    def __init__(self, provider: trace.TracerProvider) -> None:
        self._tracer = provider.get_tracer(INSTRUMENTATION_NAME)

    @contextmanager
    def span(
        self,
        name: str,
        *,
        parent: str | None = None,
        links: Sequence[str | None] = (),
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: Mapping[str, AttributeValue] | None = None,
    ) -> Iterator[Span]:
        span = self._tracer.start_span(
            name,
            context=context_of(parent),
            kind=_KINDS[kind],
            attributes=attributes,
            links=[trace.Link(c) for c in map(span_context_of, links) if c.is_valid],
        )
        try:
            yield _OtelSpan(span)
        except Exception as exc:
            span.record_exception(exc)
            span.set_status(Status(StatusCode.ERROR, failure_detail(exc)))
            raise
        finally:
            span.end()


class _OtelSpan:
    """The port's view of one OpenTelemetry span."""

    def __init__(self, span: trace.Span) -> None:
        self._span = span

    @property
    def trace_parent(self) -> str | None:
        return trace_parent_of(self._span)

    def set(self, name: str, value: AttributeValue) -> None:
        self._span.set_attribute(name, value)

    def fail(self, detail: str) -> None:
        self._span.set_status(Status(StatusCode.ERROR, detail))


def context_of(trace_parent: str | None) -> Context:
    """A context whose current span is ``trace_parent``'s; empty (a new trace) when it is
    ``None`` or not a valid ``traceparent``."""
    if valid_trace_parent(trace_parent) is None:
        return Context()
    return _PROPAGATOR.extract({"traceparent": str(trace_parent)}, context=Context())


def span_context_of(trace_parent: str | None) -> trace.SpanContext:
    """The span context ``trace_parent`` names (an invalid one when it names none)."""
    return trace.get_current_span(context_of(trace_parent)).get_span_context()


def trace_parent_of(span: trace.Span) -> str | None:
    """``span``'s context as a ``traceparent``; ``None`` for a span without one (no-op)."""
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier, context=trace.set_span_in_context(span, Context()))
    return carrier.get("traceparent")


def failure_detail(error: BaseException) -> str:
    """A span's status description: the stable code of a filegate error, else the type's
    name, so that failures group by kind (the exception event has the rest)."""
    if isinstance(error, FilegateError):
        return error.code.value
    return type(error).__name__
