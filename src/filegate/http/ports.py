"""What the HTTP layer needs from outside the core, as Protocols it owns.

The composition root passes concrete adapters (JWT tokens, Prometheus metrics, QR codes);
the HTTP layer never imports an adapter.
"""

from __future__ import annotations

from typing import Protocol

from filegate.domain.grants import UploadGrant
from filegate.domain.ports import Queue
from filegate.domain.principals import Credential
from filegate.domain.sessions import GuestSession


class Tokens(Protocol):
    """Reads bearer tokens and mints the tokens of sessions and grants."""

    async def authenticate(self, token: str) -> Credential:
        """What a valid token names; ``FilegateError(UNAUTHENTICATED)`` otherwise."""
        ...

    def mint_session(self, session: GuestSession) -> str:
        """The token of a guest session, valid until the session expires."""
        ...

    def mint_grant(self, grant: UploadGrant) -> str:
        """The write-only token of an upload grant; the same grant gives the same token."""
        ...


class MetricsExposition(Protocol):
    """Observes HTTP requests and renders this process's metrics for ``GET /metrics``."""

    @property
    def content_type(self) -> str:
        """The media type of :meth:`render`'s output."""
        ...

    def observe_request(self, method: str, route: str | None, status: int, seconds: float) -> None:
        """Count one answered request (``route`` is the matched template, if any)."""
        ...

    async def render(self, queue: Queue | None = None) -> bytes:
        """The current exposition, with the queue's depth measured now when given."""
        ...


class QrCodes(Protocol):
    """Draws QR codes of short texts (upload-grant links)."""

    def png(self, text: str) -> bytes:
        """A PNG image of the QR code of ``text``."""
        ...

    def svg(self, text: str) -> bytes:
        """An SVG image of the QR code of ``text``."""
        ...
