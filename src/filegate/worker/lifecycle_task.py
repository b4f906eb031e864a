"""The ``files.delete`` work message, handed to the core's :class:`RetentionEnforcer`."""

from __future__ import annotations

from filegate.domain.messages import Envelope, files_delete_ids
from filegate.services.lifecycle import RetentionEnforcer


class FilesDeleteTask:
    """A ``TaskHandler`` for ``files.delete``: parse the ids, delete those still due."""

    def __init__(self, enforcer: RetentionEnforcer) -> None:
        self._enforcer = enforcer

    async def handle(self, envelope: Envelope) -> None:
        """Raises ``PoisonMessage`` for a malformed envelope."""
        await self._enforcer.delete_due(files_delete_ids(envelope))
