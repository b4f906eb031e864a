"""The handlers of work messages other than upload events, and the table that routes them.

Each handler parses its envelope (a malformed one raises ``PoisonMessage``) and hands the
work to its core service; :func:`task_table` is the ``tasks`` of a :class:`BatchProcessor`.
"""

from __future__ import annotations

from collections.abc import Mapping

from filegate.domain.messages import (
    FILES_DELETE,
    OWNER_PURGE,
    Envelope,
    files_delete_ids,
    owner_purge_of,
)
from filegate.services.lifecycle import RetentionEnforcer
from filegate.services.purge import OwnerPurger
from filegate.worker.batch import TaskHandler


class FilesDeleteTask:
    """A ``TaskHandler`` for ``files.delete``: parse the ids, delete those still due."""

    def __init__(self, enforcer: RetentionEnforcer) -> None:
        self._enforcer = enforcer

    async def handle(self, envelope: Envelope) -> None:
        """Raises ``PoisonMessage`` for a malformed envelope."""
        await self._enforcer.delete_due(files_delete_ids(envelope))


class OwnerPurgeTask:
    """A ``TaskHandler`` for ``owner.purge``: parse the envelope, purge one batch."""

    def __init__(self, purger: OwnerPurger) -> None:
        self._purger = purger

    async def handle(self, envelope: Envelope) -> None:
        """Raises ``PoisonMessage`` for a malformed envelope or an owner that is no session."""
        await self._purger.handle(owner_purge_of(envelope))


def task_table(*, retention: RetentionEnforcer, purger: OwnerPurger) -> Mapping[str, TaskHandler]:
    """The handler of every work message type filegate sends, keyed by that type."""
    return {FILES_DELETE: FilesDeleteTask(retention), OWNER_PURGE: OwnerPurgeTask(purger)}
