"""One upload of a source, as both clients run it: prepare (hash), then the upload flow."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from filegate_client import _flows as flows
from filegate_client._calls import Flow, Report
from filegate_client._sources import PreparedSource, Source, prepare, source_label
from filegate_client.models import File
from filegate_client.progress import ProgressCallback, UploadPhase, UploadProgress

T = TypeVar("T")


@dataclass(frozen=True)
class UploadJob:
    """The upload of source number ``index`` and what to declare about it."""

    index: int
    source: Source
    filename: str | None = None
    content_type: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    idempotency_key: str | None = None

    @property
    def label(self) -> str:
        return source_label(self.source, self.filename, self.index)

    def prepare(self, report: Report) -> PreparedSource:
        """Open and hash the source (blocking I/O), reporting the HASHING phase."""
        return prepare(
            self.source,
            filename=self.filename,
            content_type=self.content_type,
            metadata=self.metadata,
            on_hashed=lambda done, total: report(UploadPhase.HASHING, done, total),
        )

    def flow(
        self, prepared: PreparedSource, options: flows.UploadOptions, report: Report
    ) -> Flow[File]:
        key = self.idempotency_key or uuid.uuid4().hex
        return flows.upload(prepared, key, options, report)


def reporter(progress: ProgressCallback | None, index: int, label: str) -> Report:
    """A flow's ``Report`` that turns (phase, done, total) into :class:`UploadProgress`."""

    def report(phase: UploadPhase, done: int, total: int) -> None:
        if progress is not None:
            progress(UploadProgress(index, label, phase, done, total))

    return report


def batches(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """``items`` in consecutive slices of at most ``size``."""
    step = max(1, size)
    for start in range(0, len(items), step):
        yield items[start : start + step]
