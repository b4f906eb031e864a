"""A real OTLP/HTTP trace receiver on loopback: it keeps every export request it is sent."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tests.support.loopback import serving

TRACES_PATH = "/v1/traces"


@dataclass
class Collector:
    """The requests received so far (``endpoint`` is the base URL, without the path)."""

    endpoint: str
    exports: list[ExportTraceServiceRequest] = field(default_factory=list)

    def spans(self) -> dict[str, tuple[str, dict[str, str]]]:
        """Every span received: by name, its trace id (hex) and its resource's attributes."""
        found = {}
        for export in self.exports:
            for resource_spans in export.resource_spans:
                resource = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
                for scope in resource_spans.scope_spans:
                    for span in scope.spans:
                        found[span.name] = (span.trace_id.hex(), resource)
        return found


@contextmanager
def running_collector() -> Iterator[Collector]:
    """A collector answering 200 to protobuf exports on ``TRACES_PATH``, 404 elsewhere."""
    collector = Collector("")
    with serving(_handler(collector)) as url:
        collector.endpoint = url
        yield collector


def _handler(collector: Collector) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if self.path != TRACES_PATH:
                self.send_response(404)
            else:
                collector.exports.append(ExportTraceServiceRequest.FromString(body))
                self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler
