"""An ``UploadSigner`` and ``DownloadSigner`` fake that records what it signs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import quote

from filegate.domain.clock import SystemClock
from filegate.domain.models import (
    SignedRequest,
    UploadSpec,
)
from filegate.domain.ports import Clock


@dataclass(frozen=True)
class SignedUpload:
    """One upload :class:`MemorySigner` was asked to sign."""

    key: str
    spec: UploadSpec
    expires_in: timedelta


@dataclass(frozen=True)
class SignedDownload:
    """One download :class:`MemorySigner` was asked to sign."""

    key: str
    filename: str
    content_type: str
    expires_in: timedelta
    inline: bool = False


class MemorySigner:
    """An ``UploadSigner`` and ``DownloadSigner`` making deterministic, unverified URLs.

    ``memory://put/<key>?expires=<unix seconds>`` for uploads (with the bound
    ``Content-Type`` and ``Content-Length`` headers) and ``memory://get/<key>?expires=...``
    for downloads; expiry is the clock's now plus ``expires_in``. Every request signed is
    recorded, in order, in ``uploads`` and ``downloads``.
    """

    def __init__(self, clock: Clock | None = None) -> None:
        self._clock = clock or SystemClock()
        self.uploads: list[SignedUpload] = []
        self.downloads: list[SignedDownload] = []

    def sign_upload(self, key: str, spec: UploadSpec, expires_in: timedelta) -> SignedRequest:
        self.uploads.append(SignedUpload(key, spec, expires_in))
        expires_at = self._clock.now() + expires_in
        headers = {"Content-Type": spec.content_type, "Content-Length": str(spec.size)}
        return SignedRequest("PUT", _memory_url("put", key, expires_at), headers, expires_at)

    def sign_download(
        self,
        key: str,
        filename: str,
        content_type: str,
        expires_in: timedelta,
        *,
        inline: bool = False,
    ) -> SignedRequest:
        self.downloads.append(SignedDownload(key, filename, content_type, expires_in, inline))
        expires_at = self._clock.now() + expires_in
        return SignedRequest("GET", _memory_url("get", key, expires_at), {}, expires_at)


def _memory_url(action: str, key: str, expires_at: datetime) -> str:
    return f"memory://{action}/{quote(key)}?expires={int(expires_at.timestamp())}"
