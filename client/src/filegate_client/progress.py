"""What uploads report while they run, and what each upload of a batch ended as."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from filegate_client.errors import FilegateClientError
from filegate_client.models import File


class UploadPhase(StrEnum):
    """The steps of one upload, in order."""

    HASHING = "hashing"
    """Reading the source once to compute its SHA-256."""
    UPLOADING = "uploading"
    """Sending the bytes to the signed URL (``done`` may go back after a failed try)."""
    VERIFYING = "verifying"
    """Bytes are stored; waiting for the server's verdict (only with ``wait=True``)."""


@dataclass(frozen=True)
class UploadProgress:
    """One progress report of the upload of source number ``index`` (0 for a single upload).

    ``done`` and ``total`` count bytes of the current ``phase``.
    """

    index: int
    label: str
    phase: UploadPhase
    done: int
    total: int


ProgressCallback = Callable[[UploadProgress], None]
"""Receives progress reports; called often, so it must be quick (and thread-safe when
``Client.upload_many`` uploads in parallel)."""


@dataclass(frozen=True)
class UploadOutcome:
    """How the upload of one source of a batch ended: a ``file``, or an ``error``.

    A file that was uploaded but then rejected by verification is a ``file`` (state
    ``rejected``, with its ``reason``), not an error.
    """

    index: int
    label: str
    file: File | None = None
    error: FilegateClientError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None
