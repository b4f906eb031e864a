"""Deleting one file: the object and its renditions first, then the row, and never bytes
outliving their file."""

from __future__ import annotations

from filegate.domain.models import FileRecord, StateChange
from filegate.domain.ports import FileRepository, ObjectStore
from filegate.domain.renditions import rendition_keys
from filegate.domain.states import FileState


async def delete_file(
    repository: FileRepository, store: ObjectStore, record: FileRecord, change: StateChange
) -> FileRecord | None:
    """Delete ``record``'s object and every rendition key it may have, then move its row
    to DELETED with ``change``.

    Returns the deleted file, or ``None`` when it was already deleted (or is gone). If the
    file changed state meanwhile (an upload landed after the object was removed, or a
    verification stored renditions), the compare-and-set is retried from the new state and
    the objects removed once more, so no bytes outlive their file. Every rendition key is
    deleted whether the record lists it or not: a verification may have stored one just
    before it lost its transition to this deletion.
    """
    await _delete_objects(store, record)
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
        await _delete_objects(store, record)
    return deleted


async def _delete_objects(store: ObjectStore, record: FileRecord) -> None:
    await store.delete(record.object_key)
    for key in rendition_keys(record.object_key):
        await store.delete(key)
