"""``FileRepository`` over the ``files`` and ``file_transitions`` tables (SQLite or PostgreSQL).

Every public method runs in one short transaction and raises ``BackendUnavailable`` for
transient database failures (see :mod:`filegate.adapters.sql.errors`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    and_,
    bindparam,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError

from filegate.adapters.sql import registration_postgres, registration_sqlite
from filegate.adapters.sql.database import Database
from filegate.adapters.sql.errors import is_unique_violation
from filegate.adapters.sql.events import Outbox
from filegate.adapters.sql.file_columns import (
    Columns,
    hash_column,
    hash_of,
    image_columns,
    image_of,
    print_columns,
    print_size_of,
    renditions_column,
    renditions_of,
)
from filegate.adapters.sql.schema import file_transitions, files
from filegate.adapters.sql.similarity import hamming_sql
from filegate.adapters.sql.usage import (
    NewFile,
    UsageMoved,
    apply_changes,
    apply_plan,
    plan_many,
    refusal_now,
    reservation,
    reservation_parameters,
    reserve,
)
from filegate.domain.cursor import decode_cursor, encode_cursor
from filegate.domain.models import FileRecord, Page, PrintSize, StateChange, Transition
from filegate.domain.ports import Clock
from filegate.domain.quotas import QuotaExceeded, QuotaLimits, Usage, usage_change, usage_of
from filegate.domain.similarity import SimilarFile
from filegate.domain.states import FileState, can_transition


class SqlRepository:
    """A ``FileRepository`` backed by SQLAlchemy Core on a :class:`Database`.

    With an ``outbox``, every transition into a state with an event records that event in
    its own transaction (:mod:`filegate.adapters.sql.events`). ``plain_sql`` runs a
    registration's statements as plain SQL (:mod:`filegate.adapters.sql.registration_sqlite`):
    by default on SQLite, where that is several times cheaper; ``False`` keeps SQLAlchemy's.
    """

    def __init__(
        self,
        database: Database,
        clock: Clock,
        outbox: Outbox | None = None,
        *,
        plain_sql: bool | None = None,
    ) -> None:
        self._database = database
        self._clock = clock
        self._outbox = outbox
        self._plain = database.dialect == "sqlite" if plain_sql is None else plain_sql

    async def add(
        self,
        record: FileRecord,
        idempotency_key: str | None = None,
        limits: QuotaLimits | None = None,
        *,
        dedupe: bool = False,
    ) -> FileRecord:
        """One transaction: [the duplicate check,] the file row, its first history row,
        then the usage (one conditional upsert, last: the owner's row is locked only from
        there to the commit).

        A reused ``(owner, idempotency_key)`` returns the first file, also when two adds
        race (the loser's unique violation rolls it back and the winner's row is re-read
        after), and also when the owner is now over quota. Any other duplicate (id, object
        key) raises ``ValueError``; a file over ``limits`` raises ``QuotaExceeded``.
        """
        try:
            # On PostgreSQL a registration is one statement (a refusal reads once more).
            return await self._database.write_alone(
                partial(
                    _add,
                    record=record,
                    key=idempotency_key,
                    limits=limits,
                    dedupe=dedupe,
                    plain=self._plain,
                )
            )
        except QuotaExceeded:
            existing = await self._first_with_key(record.owner, idempotency_key)
            if existing is None:
                raise
            return existing
        except IntegrityError as exc:
            if not is_unique_violation(exc):
                raise
            existing = await self._first_with_key(record.owner, idempotency_key)
            if existing is None:
                raise ValueError("duplicate file id or object key") from exc
            return existing

    async def add_many(
        self,
        records: Sequence[FileRecord],
        limits: QuotaLimits | None = None,
        *,
        dedupe: bool = False,
    ) -> list[FileRecord | QuotaExceeded]:
        """One transaction: [one duplicate query,] the usage read, one ``executemany`` per
        table, then one usage upsert per owner.

        The usage is read without a lock and the upserts check it is unchanged; if another
        transaction changed it meanwhile, the batch is rolled back and run again with the
        rows locked from the start (so a busy owner's batch cannot starve).
        """
        if not records:
            return []
        add = partial(_add_many, records=records, limits=limits, dedupe=dedupe, plain=self._plain)
        try:
            try:
                return await self._database.write(partial(add, lock=False))
            except UsageMoved:
                return await self._database.write(partial(add, lock=True))
        except IntegrityError as exc:
            if not is_unique_violation(exc):
                raise
            raise ValueError("duplicate file id or object key") from exc

    async def get(self, file_id: str) -> FileRecord | None:
        return await self._one(select(files).where(files.c.id == file_id))

    async def get_owned(self, owner: str, file_id: str) -> FileRecord | None:
        return await self._one(select(files).where(files.c.id == file_id, files.c.owner == owner))

    async def get_by_key(self, object_key: str) -> FileRecord | None:
        return await self._one(select(files).where(files.c.object_key == object_key))

    async def get_many_by_key(self, object_keys: Sequence[str]) -> dict[str, FileRecord]:
        """The files with these object keys (missing keys absent), in one read."""
        if not object_keys:
            return {}
        rows = await self._all(select(files).where(files.c.object_key.in_(set(object_keys))))
        return {record.object_key: record for record in rows}

    async def list_owned(
        self, owner: str, state: FileState | None, limit: int, cursor: str | None
    ) -> Page:
        """Newest first by ``(created_at, id)``; fetches one extra row to detect a next page."""
        query = select(files).where(files.c.owner == owner)
        if state is not None:
            query = query.where(files.c.state == state.value)
        if cursor:
            query = query.where(_older_than(*decode_cursor(cursor)))
        query = query.order_by(files.c.created_at.desc(), files.c.id.desc()).limit(limit + 1)
        rows = await self._all(query)
        page = rows[:limit]
        more = len(rows) > limit
        return Page(page, encode_cursor(page[-1]) if more and page else None)

    async def transition(
        self, file_id: str, expected: FileState, change: StateChange
    ) -> FileRecord | None:
        [updated] = await self.transition_many([(file_id, expected, change)])
        return updated

    async def transition_many(
        self, changes: Sequence[tuple[str, FileState, StateChange]]
    ) -> list[FileRecord | None]:
        """Each (file_id, expected, change) as its own compare-and-set, all in one transaction;
        per item the updated record or None (not in expected / missing: nothing written for it).
        A forbidden transition raises ValueError before anything is written."""
        for _, expected, change in changes:
            _check_allowed(expected, change.target)
        if not changes:
            return []
        now = self._clock.now()
        outbox = self._outbox
        updated = await self._database.write(
            lambda connection: _set_many(connection, changes, now, outbox)
        )
        if outbox is not None:
            outbox.committed()
        return updated

    async def history(self, file_id: str) -> list[Transition]:
        query = (
            select(file_transitions)
            .where(file_transitions.c.file_id == file_id)
            .order_by(file_transitions.c.id)
        )
        rows = await self._database.read(lambda connection: connection.execute(query).all())
        return [_transition_of(row) for row in rows]

    async def registered_before(self, deadline: datetime, limit: int) -> list[FileRecord]:
        return await self._all(
            select(files)
            .where(
                files.c.state == FileState.REGISTERED.value,
                files.c.upload_expires_at < deadline,
            )
            .order_by(files.c.upload_expires_at, files.c.id)
            .limit(limit)
        )

    async def set_multipart_upload(self, file_id: str, upload_id: str) -> FileRecord | None:
        statement = (
            update(files)
            .where(
                files.c.id == file_id,
                files.c.state == FileState.REGISTERED.value,
                files.c.multipart_upload_id.is_(None),
            )
            .values(multipart_upload_id=upload_id, updated_at=self._clock.now())
            .returning(files)
        )
        return await self._write_returning(statement)

    async def count_by_state(self) -> dict[FileState, int]:
        query = select(files.c.state, func.count()).group_by(files.c.state)
        rows = await self._database.read(lambda connection: connection.execute(query).all())
        counts = dict.fromkeys(FileState, 0)
        counts.update({FileState(state): int(count) for state, count in rows})
        return counts

    async def set_print_size(self, file_id: str, size: PrintSize | None) -> FileRecord | None:
        statement = (
            update(files)
            .where(files.c.id == file_id, files.c.state != FileState.DELETED.value)
            .values(
                **print_columns(size),
                updated_at=self._clock.now(),
                version=files.c.version + 1,
            )
            .returning(*files.c)
        )
        return await self._write_returning(statement)

    async def similar_ready(
        self,
        owner: str,
        perceptual_hash: int,
        max_distance: int,
        limit: int,
        exclude_id: str | None = None,
    ) -> list[SimilarFile]:
        """One query: the distance is computed in the database for each of the owner's
        READY files with a hash (:mod:`filegate.adapters.sql.similarity`; linear cost)."""
        signed = hash_column(perceptual_hash)
        distance = hamming_sql(self._database.dialect, files.c.perceptual_hash, signed)
        query = select(files, distance.label("distance")).where(
            files.c.owner == owner,
            files.c.state == FileState.READY.value,
            files.c.perceptual_hash.is_not(None),
            distance <= max_distance,
        )
        if exclude_id is not None:
            query = query.where(files.c.id != exclude_id)
        query = query.order_by(distance, files.c.created_at.desc(), files.c.id.desc()).limit(limit)
        rows = await self._database.read(lambda connection: connection.execute(query).all())
        return [SimilarFile(record_of(row), int(row.distance)) for row in rows]

    async def _first_with_key(self, owner: str, key: str | None) -> FileRecord | None:
        if key is None:
            return None
        return await self._one(
            select(files).where(files.c.owner == owner, files.c.idempotency_key == key)
        )

    async def _one(self, query: Select[Any]) -> FileRecord | None:
        rows = await self._all(query.limit(1))
        return rows[0] if rows else None

    async def _all(self, query: Select[Any]) -> list[FileRecord]:
        rows = await self._database.read(lambda connection: connection.execute(query).all())
        return [record_of(row) for row in rows]

    async def _write_returning(self, statement: Any) -> FileRecord | None:
        row = await self._database.write(lambda connection: connection.execute(statement).first())
        return None if row is None else record_of(row)


def _add(
    connection: Connection,
    *,
    record: FileRecord,
    key: str | None,
    limits: QuotaLimits | None,
    dedupe: bool,
    plain: bool,
) -> FileRecord:
    if connection.dialect.name == "postgresql":
        return _add_in_one_statement(connection, record, key, limits, dedupe)
    if dedupe and record.declared_sha256 is not None:
        found = _oldest_ready(connection, record.owner, record.declared_sha256, plain=plain)
        if found is not None:
            return found
    _insert_new(connection, [record], key, plain=plain)
    reserve(connection, record.owner, record.state, record.declared_size, limits, plain=plain)
    return record


def _add_in_one_statement(
    connection: Connection,
    record: FileRecord,
    key: str | None,
    limits: QuotaLimits | None,
    dedupe: bool,
) -> FileRecord:
    """:func:`_add` on PostgreSQL (:mod:`filegate.adapters.sql.registration_postgres`)."""
    size = record.declared_size
    shape = reservation(limits, size)
    added = usage_of(record.state, size)
    counters = {
        "owner": record.owner,
        "pending": added.pending,
        "files": added.files,
        "bytes": added.bytes,
        "duplicate_sha256": record.declared_sha256 if dedupe else None,
        **reservation_parameters(limits, size),
    }
    row = _row_of(record, key)
    history = _history_row(record.id, _Step(None, record.state, None, "api"), record.created_at)
    while True:
        done = registration_postgres.register(connection, row, history, counters, shape)
        if done.reserved:
            return record
        if done.duplicate is not None:
            found = connection.execute(select(files).where(files.c.id == done.duplicate)).one()
            return record_of(found)
        assert limits is not None  # an unconditional reservation always counts
        refusal_now(connection, record.owner, limits, size)
        # The owner's usage changed between the two statements: decide again.


def _oldest_ready(
    connection: Connection, owner: str, sha256: str, *, plain: bool
) -> FileRecord | None:
    """``owner``'s oldest READY file with ``sha256``, if any."""
    if plain:
        values = registration_sqlite.oldest_ready(connection, owner, sha256)
        return None if values is None else record_from(values)
    parameters = {"owner": owner, "sha256": sha256}
    found = connection.execute(_OLDEST_READY_WITH_SHA256, parameters).first()
    return None if found is None else record_of(found)


def _add_many(
    connection: Connection,
    *,
    records: Sequence[FileRecord],
    limits: QuotaLimits | None,
    dedupe: bool,
    plain: bool,
    lock: bool,
) -> list[FileRecord | QuotaExceeded]:
    declared = {pair for r in records if (pair := _declared(r)) is not None}
    found = (
        _ready_duplicates(connection, sorted(declared), plain=plain) if dedupe and declared else {}
    )
    duplicates = {r.id: found[pair] for r in records if (pair := _declared(r)) in found}
    new = [r for r in records if r.id not in duplicates]
    counted = [NewFile(r.owner, r.state, r.declared_size) for r in new]
    plan = plan_many(connection, counted, limits, lock=lock)
    refusals = dict(zip((r.id for r in new), plan.refusals, strict=True))
    _insert_new(connection, [r for r in new if refusals[r.id] is None], None, plain=plain)
    apply_plan(connection, plan, plain=plain)
    return [duplicates.get(r.id) or refusals.get(r.id) or r for r in records]


def _declared(record: FileRecord) -> tuple[str, str] | None:
    """The ``(owner, declared SHA-256)`` a duplicate of ``record`` would have."""
    sha256 = record.declared_sha256
    return None if sha256 is None else (record.owner, sha256)


def _ready_duplicates(
    connection: Connection, wanted: Sequence[tuple[str, str]], *, plain: bool
) -> dict[tuple[str, str], FileRecord]:
    """Per (owner, SHA-256) wanted, the owner's oldest READY file with that SHA-256."""
    owners = {owner for owner, _ in wanted}
    digests = {digest for _, digest in wanted}
    pairs = set(wanted)
    found: dict[tuple[str, str], FileRecord] = {}
    for record in _ready_with_hashes(connection, owners, digests, plain=plain):
        pair = (record.owner, record.sha256 or "")
        if pair in pairs and (pair not in found or _older(record, found[pair])):
            found[pair] = record
    return found


def _ready_with_hashes(
    connection: Connection, owners: set[str], digests: set[str], *, plain: bool
) -> list[FileRecord]:
    """Every READY file of ``owners`` with one of ``digests``, in no order (an ORDER BY
    would tempt a planner to walk the owners' files in creation order)."""
    if plain:
        rows = registration_sqlite.ready_with_hashes(connection, owners, digests)
        return [record_from(values) for values in rows]
    query = select(files).where(
        files.c.owner.in_(owners),
        files.c.sha256.in_(digests),
        files.c.state == FileState.READY.value,
    )
    return [record_of(row) for row in connection.execute(query).all()]


def _older(record: FileRecord, other: FileRecord) -> bool:
    return (record.created_at, record.id) < (other.created_at, other.id)


def _check_allowed(expected: FileState, target: FileState) -> None:
    if not can_transition(expected, target):
        raise ValueError(f"transition {expected} -> {target} is not allowed")


def compare_and_set(
    connection: Connection,
    file_id: str,
    expected: FileState,
    change: StateChange,
    now: datetime,
) -> FileRecord | None:
    """Within the caller's transaction: the CAS update, one history row, then the owner's
    usage (one upsert, so best as the caller's last write).

    Raises ``ValueError`` for a forbidden transition; returns ``None`` (nothing written)
    when the file is missing or not in ``expected``.
    """
    _check_allowed(expected, change.target)
    [record] = _set_many(connection, [(file_id, expected, change)], now)
    return record


def _set_many(
    connection: Connection,
    changes: Sequence[tuple[str, FileState, StateChange]],
    now: datetime,
    outbox: Outbox | None = None,
) -> list[FileRecord | None]:
    """Each change its own CAS update (in file-id order, so that two batches lock shared
    rows in one order), then one ``executemany`` of history rows and one of the changes'
    events (with an ``outbox``), then each owner's usage delta, owners in order. Results in
    the order of ``changes``."""
    order = sorted(range(len(changes)), key=lambda i: changes[i][0])  # stable: same file in order
    results: list[FileRecord | None] = [None] * len(changes)
    history: list[dict[str, Any]] = []
    deltas: dict[str, Usage] = {}
    for index in order:
        file_id, expected, change = changes[index]
        statement = (
            update(files)
            .where(files.c.id == file_id, files.c.state == expected.value)
            .values(_changed_columns(change, now))
            .returning(*files.c)
        )
        row = connection.execute(statement).first()
        if row is None:
            continue
        record = results[index] = record_of(row)
        step = _Step(expected, change.target, change.reason, change.actor.value)
        history.append(_history_row(file_id, step, now))
        delta = usage_change(expected, change.target, record.declared_size)
        deltas[record.owner] = deltas.get(record.owner, Usage()) + delta
    if history:
        connection.execute(insert(file_transitions), history)
    if outbox is not None:
        outbox.files_changed(connection, [r for r in results if r is not None], now)
    apply_changes(connection, deltas)
    return results


def record_of(row: Row[Any]) -> FileRecord:
    """The ``FileRecord`` of a ``files`` row."""
    return record_from(row._mapping)


def record_from(values: Columns) -> FileRecord:
    """The ``FileRecord`` of the columns of a ``files`` row, by name (as SQLAlchemy reads them)."""
    return FileRecord(
        id=values["id"],
        owner=values["owner"],
        object_key=values["object_key"],
        filename=values["filename"],
        declared_size=values["declared_size"],
        declared_type=values["declared_type"],
        declared_sha256=values["declared_sha256"],
        state=FileState(values["state"]),
        created_at=values["created_at"],
        updated_at=values["updated_at"],
        upload_expires_at=values["upload_expires_at"],
        version=values["version"],
        reason=values["reason"],
        detected_type=values["detected_type"],
        sha256=values["sha256"],
        image=image_of(values),
        placeholder=values["placeholder"],
        perceptual_hash=hash_of(values["perceptual_hash"]),
        renditions=renditions_of(values["renditions"]),
        print_size=print_size_of(values),
        metadata=values["metadata"],
        last_sequencer=values["last_sequencer"],
        multipart_upload_id=values["multipart_upload_id"],
        retain_until=values["retain_until"],
        pinned=bool(values["pinned"]),
        trace_parent=values["trace_parent"],
    )


def _row_of(record: FileRecord, idempotency_key: str | None) -> dict[str, Any]:
    return {
        "id": record.id,
        "owner": record.owner,
        "object_key": record.object_key,
        "filename": record.filename,
        "declared_size": record.declared_size,
        "declared_type": record.declared_type,
        "declared_sha256": record.declared_sha256,
        "state": record.state.value,
        "created_at": record.created_at,
        "updated_at": record.updated_at,
        "upload_expires_at": record.upload_expires_at,
        "version": record.version,
        "reason": record.reason,
        "detected_type": record.detected_type,
        "sha256": record.sha256,
        "metadata": dict(record.metadata),
        "idempotency_key": idempotency_key,
        "last_sequencer": record.last_sequencer,
        "multipart_upload_id": record.multipart_upload_id,
        "retain_until": record.retain_until,
        "pinned": record.pinned,
        "placeholder": record.placeholder,
        "perceptual_hash": hash_column(record.perceptual_hash),
        "renditions": renditions_column(record.renditions),
        **image_columns(record.image),
        **print_columns(record.print_size),
        "trace_parent": record.trace_parent,
    }


def _changed_columns(change: StateChange, now: datetime) -> dict[str, Any]:
    """SET clause of a transition: facts of the change overwrite only when given."""
    columns: dict[str, Any] = {
        "state": change.target.value,
        "reason": change.reason,
        "updated_at": now,
        "version": files.c.version + 1,
    }
    if change.detected_type is not None:
        columns["detected_type"] = change.detected_type
    if change.sha256 is not None:
        columns["sha256"] = change.sha256
    if change.image is not None:
        columns.update(image_columns(change.image))
    if change.placeholder is not None:
        columns["placeholder"] = change.placeholder
    if change.perceptual_hash is not None:
        columns["perceptual_hash"] = hash_column(change.perceptual_hash)
    if change.renditions:
        columns["renditions"] = renditions_column(change.renditions)
    if change.sequencer is not None:
        columns["last_sequencer"] = change.sequencer
    return columns


def _older_than(created_at: datetime, file_id: str) -> ColumnElement[bool]:
    """Keyset predicate ``(created_at, id) < (:created_at, :id)``, portable to SQLite."""
    return or_(
        files.c.created_at < created_at,
        and_(files.c.created_at == created_at, files.c.id < file_id),
    )


@dataclass(frozen=True)
class _Step:
    """What one history row records, apart from the file and the time."""

    from_state: FileState | None
    to_state: FileState
    reason: str | None
    actor: str


def _insert_new(
    connection: Connection,
    records: Sequence[FileRecord],
    idempotency_key: str | None,
    *,
    plain: bool,
) -> None:
    """Insert new files and their first history rows (``executemany``, one per table)."""
    if not records:
        return
    rows = [_row_of(r, idempotency_key) for r in records]
    history = [_history_row(r.id, _Step(None, r.state, None, "api"), r.created_at) for r in records]
    if plain:
        registration_sqlite.insert_files(connection, rows)
        registration_sqlite.insert_history(connection, history)
        return
    connection.execute(_INSERT_FILES, rows)
    connection.execute(_INSERT_HISTORY, history)


# Built once: building a statement per call costs more than SQLite takes to run it.
_INSERT_FILES = insert(files)
_INSERT_HISTORY = insert(file_transitions)
# A registration's own duplicate check, beside the batch's query on purpose: built once,
# where the batch's is built per call (per registration, that cost a fifth of the rate).
_OLDEST_READY_WITH_SHA256 = (
    select(files)
    .where(
        files.c.owner == bindparam("owner"),
        files.c.sha256 == bindparam("sha256"),
        files.c.state == FileState.READY.value,
    )
    .order_by(files.c.created_at, files.c.id)
    .limit(1)
)


def _history_row(file_id: str, step: _Step, at: datetime) -> dict[str, Any]:
    return {
        "file_id": file_id,
        "from_state": step.from_state.value if step.from_state is not None else None,
        "to_state": step.to_state.value,
        "reason": step.reason,
        "actor": step.actor,
        "at": at,
    }


def _transition_of(row: Row[Any]) -> Transition:
    values = row._mapping
    from_state = values["from_state"]
    return Transition(
        file_id=values["file_id"],
        from_state=FileState(from_state) if from_state is not None else None,
        to_state=FileState(values["to_state"]),
        reason=values["reason"],
        actor=values["actor"],
        at=values["at"],
    )
