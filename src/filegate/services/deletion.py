"""Deleting one file: the object first, then the row, and never bytes outliving their file."""

from __future__ import annotations

from filegate.domain.models import FileRecord, StateChange
from filegate.domain.ports import FileRepository, ObjectStore
from filegate.domain.states import FileState


async def delete_file(
    repository: FileRepository, store: ObjectStore, record: FileRecord, change: StateChange
) -> FileRecord | None:
    """Delete ``record``'s object, then move its row to DELETED with ``change``.

    Returns the deleted file, or ``None`` when it was already deleted (or is gone). If the
    file changed state meanwhile (an upload landed after the object was removed), the
    compare-and-set is retried from the new state and the object removed once more, so
    no bytes outlive their file.
    """
    await store.delete(record.object_key)
    raced = False
    current: FileRecord | None = record
    deleted: FileRecord | None = None
    while current is not None and current.state is not FileState.DELETED:
        deleted = await repository.transition(current.id, current.state, change)
        if deleted is not None:
            break
        raced = True
        current = await repository.get(record.id)
    if raced:
        await store.delete(record.object_key)
    return deleted
