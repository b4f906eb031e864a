"""The ``owner.purge`` work message, handed to the core's :class:`OwnerPurger`."""

from __future__ import annotations

from filegate.domain.messages import Envelope, owner_purge_of
from filegate.services.purge import OwnerPurger


class OwnerPurgeTask:
    """A ``TaskHandler`` for ``owner.purge``: parse the envelope, purge one batch."""

    def __init__(self, purger: OwnerPurger) -> None:
        self._purger = purger

    async def handle(self, envelope: Envelope) -> None:
        """Raises ``PoisonMessage`` for a malformed envelope or an owner that is no session."""
        await self._purger.handle(owner_purge_of(envelope))
