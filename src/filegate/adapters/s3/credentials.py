"""Credentials for presigning, read from the AWS credential chain once and kept fresh.

Presigning is synchronous (the ``UploadSigner`` port), so it cannot await the chain. The
credentials are read up front; when they carry an expiry (STS, instance and container
roles), they are read again ``refresh_margin`` before it. A URL signed with temporary
credentials dies with them, so the margin should exceed the longest URL lifetime issued.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from aiobotocore.session import AioSession

from filegate.adapters.s3.sigv4 import SigV4Presigner
from filegate.domain.errors import BackendUnavailable
from filegate.domain.ports import Clock

log = logging.getLogger(__name__)

DEFAULT_REFRESH_MARGIN = timedelta(minutes=15)


@dataclass(frozen=True)
class FrozenCredentials:
    """One consistent set of keys; ``expires_at`` ``None`` for long-term keys."""

    access_key: str
    secret_key: str
    token: str | None
    expires_at: datetime | None = None


CredentialSource = Callable[[], Awaitable[FrozenCredentials]]


def session_credentials(session: AioSession) -> CredentialSource:
    """Read credentials through ``session``'s chain (environment, profile, roles)."""

    async def read() -> FrozenCredentials:
        credentials = await session.get_credentials()
        if credentials is None:
            raise BackendUnavailable("No AWS credentials were found for the object store.")
        frozen = await credentials.get_frozen_credentials()
        if not frozen.access_key or not frozen.secret_key:
            raise BackendUnavailable("The AWS credentials for the object store are incomplete.")
        # Refreshable credentials keep their expiry here; long-term keys have none.
        expiry: datetime | None = getattr(credentials, "_expiry_time", None)
        return FrozenCredentials(
            frozen.access_key,
            frozen.secret_key,
            frozen.token,
            expiry.astimezone(UTC) if expiry is not None else None,
        )

    return read


class PresignerKeeper:
    """Holds a :class:`SigV4Presigner` for the current credentials; renews it before expiry."""

    def __init__(
        self,
        source: CredentialSource,
        region: str,
        clock: Clock,
        refresh_margin: timedelta = DEFAULT_REFRESH_MARGIN,
    ) -> None:
        self._source = source
        self._region = region
        self._clock = clock
        self._margin = refresh_margin
        self._presigner: SigV4Presigner | None = None
        self._expires_at: datetime | None = None

    @property
    def expires_at(self) -> datetime | None:
        """When the current credentials expire (``None``: they do not)."""
        return self._expires_at

    async def load(self) -> None:
        """Read the credentials now (at start-up, and whenever a refresh is due)."""
        credentials = await self._source()
        self._presigner = SigV4Presigner(
            credentials.access_key,
            credentials.secret_key,
            credentials.token,
            self._region,
            self._clock,
        )
        self._expires_at = credentials.expires_at

    def current(self) -> SigV4Presigner:
        """The presigner to use now; ``BackendUnavailable`` if none or its credentials expired."""
        if self._presigner is None:
            raise BackendUnavailable("The object store's credentials are not loaded.")
        if self._expires_at is not None and self._clock.now() >= self._expires_at:
            raise BackendUnavailable("The object store's credentials have expired.")
        return self._presigner

    def refresh_due(self) -> bool:
        """Whether the credentials expire within the refresh margin."""
        return self._expires_at is not None and (
            self._clock.now() >= self._expires_at - self._margin
        )

    async def refresh_if_due(self) -> bool:
        """Re-read the credentials if :meth:`refresh_due`; return whether it did."""
        if not self.refresh_due():
            return False
        await self.load()
        return True

    async def keep_fresh(self, poll_seconds: float) -> None:
        """Check every ``poll_seconds`` and refresh when due, until cancelled.

        A failed refresh is logged and tried again at the next poll; signing keeps using
        the old credentials until they actually expire.
        """
        while True:
            await asyncio.sleep(poll_seconds)
            try:
                await self.refresh_if_due()
            except Exception:
                log.warning("refreshing the object store's credentials failed", exc_info=True)
