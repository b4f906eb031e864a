"""Tracing for one process: OpenTelemetry's SDK exporting over OTLP/HTTP, or nothing.

With ``FILEGATE_TRACING=otlp`` the process gets an SDK tracer provider with a batching
span processor and the OTLP/HTTP exporter, all configured by the usual ``OTEL_*``
variables (``OTEL_EXPORTER_OTLP_ENDPOINT`` or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``,
``OTEL_EXPORTER_OTLP_HEADERS``, ``OTEL_SERVICE_NAME``, ``OTEL_RESOURCE_ATTRIBUTES``,
``OTEL_TRACES_SAMPLER``, ``OTEL_BSP_*``); the service is named ``filegate`` unless they
name it. Otherwise nothing is configured or imported beyond the API, whose no-op provider
records nothing. The provider is filegate's own (never installed as OpenTelemetry's global
one), so every runtime of a process, tests included, traces exactly as it was built to.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import TYPE_CHECKING

from opentelemetry.trace import NoOpTracerProvider

from filegate.adapters.tracing import OtelTracer
from filegate.bootstrap.backends import require_extra_for
from filegate.config import Settings
from filegate.domain.tracing import Tracer

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

DEFAULT_SERVICE_NAME = "filegate"


@dataclass(frozen=True)
class Tracing:
    """What a runtime traces with."""

    tracer: Tracer
    flush: Callable[[], None]
    """Export the spans still buffered now (a Lambda invocation's, before it freezes)."""


def open_tracing(
    settings: Settings, stack: AsyncExitStack, provider: TracerProvider | None = None
) -> Tracing:
    """The tracing of ``settings`` (or over ``provider``, as tests give one); an exporting
    provider is shut down, its last spans flushed, when ``stack`` closes."""
    if provider is None:
        if settings.tracing == "off":
            return Tracing(OtelTracer(NoOpTracerProvider()), _nothing)
        provider = otlp_provider()
        stack.callback(provider.shutdown)
    return Tracing(OtelTracer(provider), _flusher(provider))


def otlp_provider() -> TracerProvider:
    """An SDK provider exporting over OTLP/HTTP in batches, as the ``OTEL_*`` variables say.

    Raises ``ConfigurationError`` when the ``otel`` extra is not installed.
    """
    require_extra_for("otel", "FILEGATE_TRACING=otlp")
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    resource = Resource.create()
    if str(resource.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
        resource = resource.merge(Resource({SERVICE_NAME: DEFAULT_SERVICE_NAME}))
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return provider


def _flusher(provider: TracerProvider) -> Callable[[], None]:
    def flush() -> None:
        provider.force_flush()

    return flush


def _nothing() -> None:
    pass
