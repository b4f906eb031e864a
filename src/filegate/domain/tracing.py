"""The tracing port: the spans the core opens around a file's work, in the core's own words.

Every file has one trace. Its first span is the registration's (a new trace); the spans
that follow (the upload commit, the verification, webhook deliveries) are its descendants,
in whichever process they run. Between processes a span's context travels as a W3C
``traceparent`` string (``00-<32 hex trace id>-<16 hex span id>-<2 hex flags>``): on the
file row (``FileRecord.trace_parent``), in filegate's queue messages
(``ObjectCreated.trace_parent``) and on events (``Event.trace_parent``). The core never
handles a tracing library's objects; :mod:`filegate.adapters.tracing` implements the port
with OpenTelemetry.

Opening a span never fails and never slows the work down noticeably. Where nothing is
traced, spans record nothing and one that starts a trace has no ``trace_parent``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from enum import StrEnum
from typing import Literal, Protocol

AttributeValue = str | int | float | bool

# Span names: one per step of a file's life.
FILE_REGISTER = "file.register"
FILES_REGISTER_BATCH = "files.register_batch"
FILE_UPLOAD_COMMIT = "file.upload_commit"
FILE_VERIFY = "file.verify"
FILE_EXAMINE = "file.examine"
WEBHOOK_DELIVER = "webhook.deliver"

# Attribute names.
FILE_ID = "filegate.file.id"
FILE_STATE = "filegate.file.state"
FILE_REASON = "filegate.file.reason"
REGISTRATION_OUTCOME = "filegate.registration.outcome"
"""``new``, ``replayed`` (an Idempotency-Key seen before) or ``deduplicated``."""
BATCH_SIZE = "filegate.batch.size"
UPLOAD_VIA = "filegate.upload.via"
"""How the bytes were signalled (an :data:`UploadVia`)."""
UploadVia = Literal["store", "complete", "multipart", "recovered"]
"""The local store's PUT, the client's ``complete``, a multipart completion, or an object
found later (the expiry sweep, the reconciler)."""
CONTEXT_FROM = "filegate.trace.context_from"
"""Where a verification found its file's trace: the ``message`` or the ``file`` row."""
VERIFY_OUTCOME = "filegate.verify.outcome"
"""``applied`` (see ``filegate.file.state``), ``lost`` (the file changed meanwhile) or
``unchanged`` (nothing to apply)."""
WEBHOOK_ENDPOINT = "filegate.webhook.endpoint"
EVENT_ID = "filegate.event.id"
EVENT_TYPE = "filegate.event.type"

_TRACE_PARENT = re.compile(r"00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}")


def valid_trace_parent(value: object) -> str | None:
    """``value`` when it is a W3C ``traceparent`` of version 00 with non-zero ids, else
    ``None``: a context that cannot be continued is ignored, never an error."""
    if not isinstance(value, str):
        return None
    match = _TRACE_PARENT.fullmatch(value)
    if match is None or int(match[1], 16) == 0 or int(match[2], 16) == 0:
        return None
    return value


class SpanKind(StrEnum):
    """The role of a span, as OpenTelemetry names them."""

    INTERNAL = "internal"
    SERVER = "server"
    CLIENT = "client"
    PRODUCER = "producer"
    CONSUMER = "consumer"


class Span(Protocol):
    """One open span."""

    @property
    def trace_parent(self) -> str | None:
        """This span's context as a ``traceparent``, for the spans that continue it
        elsewhere; ``None`` when nothing is traced."""
        ...

    def set(self, name: str, value: AttributeValue) -> None:
        """Record an attribute (a later value for the same name replaces the earlier)."""
        ...

    def fail(self, detail: str) -> None:
        """Mark the work this span covers as failed, with a short ``detail`` (no secrets)."""
        ...


class Tracer(Protocol):
    """Opens spans."""

    def span(
        self,
        name: str,
        *,
        parent: str | None = None,
        links: Sequence[str | None] = (),
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: Mapping[str, AttributeValue] | None = None,
    ) -> AbstractContextManager[Span]:
        """A span that ends when the block exits; an exception leaving the block marks it
        failed (and propagates).

        It is a child of ``parent`` when that is a valid ``traceparent``, else the first
        span of a new trace. ``links`` name other spans it relates to (invalid ones are
        skipped). The span is not made the ambient one: a span opened inside the block is
        its child only when given its ``trace_parent``.
        """
        ...


class NoSpan:
    """A span that records nothing (``trace_parent`` is ``None``)."""

    @property
    def trace_parent(self) -> str | None:
        return None

    def set(self, name: str, value: AttributeValue) -> None:
        pass

    def fail(self, detail: str) -> None:
        pass


NO_SPAN: Span = NoSpan()


class NoTracer:
    """A ``Tracer`` whose spans record nothing: the default where nobody traces."""

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
        yield NO_SPAN


NO_TRACING: Tracer = NoTracer()
"""The shared no-op instance (it holds no state)."""


def webhook_delivery(
    tracer: Tracer,
    trace_parent: str | None,
    endpoint: str,
    *,
    event_id: str | None = None,
    event_type: str | None = None,
) -> AbstractContextManager[Span]:
    """The span of one delivery attempt of an event to a webhook endpoint.

    ``trace_parent`` is the event's (``Event.trace_parent``): the attempt joins its file's
    trace, or starts a trace of its own for an event without one (a session's). The
    span's ``trace_parent`` may be sent along as the request's ``traceparent`` header.
    Mark a failed attempt with ``Span.fail`` (an exception leaving the block does it too).
    """
    attributes: dict[str, AttributeValue] = {WEBHOOK_ENDPOINT: endpoint}
    if event_id is not None:
        attributes[EVENT_ID] = event_id
    if event_type is not None:
        attributes[EVENT_TYPE] = event_type
    return tracer.span(
        WEBHOOK_DELIVER, parent=trace_parent, kind=SpanKind.CLIENT, attributes=attributes
    )
