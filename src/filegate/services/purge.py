"""Deleting the files of an ended guest session, one batch per queue message."""

from __future__ import annotations

import logging

from filegate.domain.errors import PoisonMessage
from filegate.domain.messages import encode_owner_purge
from filegate.domain.models import Actor, Owner, OwnerKind, StateChange
from filegate.domain.models import TransitionReason as Reason
from filegate.domain.ports import (
    Clock,
    FileRepository,
    ObjectStore,
    PurgeableFiles,
    Queue,
    SessionRepository,
)
from filegate.domain.sessions import OwnerPurge, SessionEnd
from filegate.domain.states import FileState
from filegate.services.deletion import delete_file

log = logging.getLogger(__name__)

_DELETED = StateChange(FileState.DELETED, Actor.WORKER, reason=Reason.SESSION_ENDED.value)


class OwnerPurger:
    """Handles ``owner.purge`` messages: deletes up to ``batch_size`` files per message.

    Each file: the object first, then the row becomes DELETED with a history row (the row
    stays, for audit). A full batch enqueues the next message for the same owner; a short
    one means the owner has nothing left, and the session is marked purged. Only sessions
    that ended without being claimed are purged; anything else is acknowledged untouched.
    Idempotent: a replayed message finds fewer files, or none.
    """

    def __init__(
        self,
        files: FileRepository,
        candidates: PurgeableFiles,
        sessions: SessionRepository,
        store: ObjectStore,
        queue: Queue,
        clock: Clock,
        *,
        batch_size: int = 100,
    ) -> None:
        self._files = files
        self._candidates = candidates
        self._sessions = sessions
        self._store = store
        self._queue = queue
        self._clock = clock
        self._batch_size = batch_size

    async def handle(self, purge: OwnerPurge) -> None:
        """Delete the next batch of the owner's files (raises ``PoisonMessage`` for a
        purge of anything but a session)."""
        session_id = _session_id(purge.owner)
        if not await self._may_purge(session_id):
            log.warning("purge of a live or claimed session ignored", extra={"owner": purge.owner})
            return
        now = self._clock.now()
        batch = await self._candidates.purgeable_files(purge.owner, now, self._batch_size)
        for record in batch:
            await delete_file(self._files, self._store, record, _DELETED)
        if len(batch) == self._batch_size:
            await self._queue.send_batch([encode_owner_purge(purge)])
            return
        await self._sessions.mark_purged(session_id, self._clock.now())
        log.info("session purged", extra={"owner": purge.owner})

    async def _may_purge(self, session_id: str) -> bool:
        session = await self._sessions.get(session_id)
        return (
            session is not None
            and session.ended_at is not None
            and session.end_reason is not SessionEnd.CLAIMED
        )


def _session_id(owner_key: str) -> str:
    try:
        owner = Owner.parse(owner_key)
    except ValueError as exc:
        raise PoisonMessage(f"not an owner: {owner_key[:80]!r}") from exc
    if owner.kind is not OwnerKind.SESSION:
        raise PoisonMessage("only guest sessions are purged")
    return owner.id
