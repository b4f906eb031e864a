"""Registering files and issuing their upload URLs."""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from filegate.domain.errors import ErrorCode, FilegateError, not_found
from filegate.domain.filenames import sanitize_filename
from filegate.domain.metrics import NO_METRICS, Metrics
from filegate.domain.models import FileRecord, PrintSize, SignedRequest
from filegate.domain.ports import Clock, FileRepository, UploadSigner
from filegate.domain.printing import check_print_size
from filegate.domain.quotas import QuotaExceeded, QuotaLimits
from filegate.domain.states import FileState
from filegate.domain.tracing import (
    BATCH_SIZE,
    FILE_ID,
    FILE_REGISTER,
    FILES_REGISTER_BATCH,
    NO_TRACING,
    REGISTRATION_OUTCOME,
    Span,
    Tracer,
)

_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
MAX_METADATA_BYTES = 16 * 1024
MAX_METADATA_DEPTH = 32


@dataclass(frozen=True)
class RegistrationPolicy:
    """Limits every registration is checked against."""

    max_size: int
    allowed_types: frozenset[str]
    upload_window: timedelta
    upload_url_ttl: timedelta
    multipart_threshold: int | None = None
    """Declared sizes from here up get no single upload URL: they are uploaded in parts."""


@dataclass(frozen=True)
class RegistrationRequest:
    """What a client declares about a file it is about to upload."""

    filename: str
    content_type: str
    size: int
    sha256: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    print_size: PrintSize | None = None
    """The target print size (:mod:`filegate.domain.printing`), if the client has one."""


@dataclass(frozen=True)
class Registration:
    """A registered file and the presigned request that uploads its bytes."""

    file: FileRecord
    upload: SignedRequest | None
    deduplicated: bool = False
    """``file`` is the owner's READY file with the declared SHA-256: nothing to upload."""


def object_key(owner: str, file_id: str) -> str:
    """The server-made key: a hash of the owner (no client bytes) and the file id."""
    owner_hash = hashlib.sha256(owner.encode()).hexdigest()[:16]
    return f"{owner_hash}/{file_id}"


def new_file_id() -> str:
    """An unguessable id (128 random bits)."""
    return secrets.token_hex(16)


class Registrar:
    """Validates declarations, stores REGISTERED files and signs their upload URLs."""

    def __init__(
        self,
        repository: FileRepository,
        signer: UploadSigner,
        clock: Clock,
        policy: RegistrationPolicy,
        *,
        quotas: QuotaLimits | None = None,
        dedupe: bool = False,
        metrics: Metrics = NO_METRICS,
        tracer: Tracer = NO_TRACING,
    ) -> None:
        """``dedupe`` turns deduplication on (the repository checks in the registration's
        own transaction). Each registered file starts its own trace with a ``file.register``
        span, whose context the file row keeps."""
        self._repository = repository
        self._signer = signer
        self._clock = clock
        self._policy = policy
        self._quotas = quotas
        self._dedupe = dedupe
        self._metrics = metrics
        self._tracer = tracer

    async def register(
        self,
        owner: str,
        request: RegistrationRequest,
        idempotency_key: str | None = None,
        *,
        dedupe: bool = True,
    ) -> Registration:
        """Register one file; a repeated ``idempotency_key`` returns the first file.

        Raises ``FilegateError`` (EMPTY_FILE, FILE_TOO_LARGE, UNSUPPORTED_MEDIA_TYPE,
        VALIDATION_ERROR) for a declaration the policy refuses, IDEMPOTENCY_CONFLICT
        when the key was used for a different declaration, and ``QuotaExceeded``
        (QUOTA_EXCEEDED, TOO_MANY_PENDING) when the owner has no room for it. With
        deduplication on (and ``dedupe``), a declared SHA-256 equal to one of the owner's
        READY files returns that file (``deduplicated``) as it is, registering nothing and
        counting nothing (a declared print size is not applied to it). Callers that may
        not read the owner's files pass ``dedupe=False``. One repository call (one
        transaction on SQL), whatever the outcome.
        """
        validated = self._validated(request)
        with self._tracer.span(FILE_REGISTER) as span:
            record = self._new_record(owner, validated, span.trace_parent)
            dedupe = dedupe and self._dedupe
            stored = await self._repository.add(
                record, idempotency_key, self._quotas, dedupe=dedupe
            )
            _describe(span, stored, record)
            if dedupe and _is_duplicate(stored, record):
                return Registration(stored, None, deduplicated=True)
            if stored.id != record.id and not _same_declaration(stored, record):
                raise FilegateError(
                    ErrorCode.IDEMPOTENCY_CONFLICT,
                    "This Idempotency-Key was used for a different file.",
                    {"file_id": stored.id},
                )
        if stored.id == record.id:
            self._metrics.registered(1)
        return Registration(stored, self._upload_for(stored))

    async def register_many(
        self, owner: str, requests: Sequence[RegistrationRequest], *, dedupe: bool = True
    ) -> list[Registration | FilegateError]:
        """Register each file independently; a refused one yields its error in place.

        Outcomes are those of :meth:`register` called for each request in order (without
        idempotency keys), but the valid ones go to one ``add_many`` (one transaction).
        Each valid request gets its own ``file.register`` span (its file's trace), linked to
        one ``files.register_batch`` span of the request.
        """
        with self._tracer.span(FILES_REGISTER_BATCH) as batch, ExitStack() as spans:
            batch.set(BATCH_SIZE, len(requests))
            prepared = [self._prepared(owner, r, spans, batch.trace_parent) for r in requests]
            new = [item for item in prepared if not isinstance(item, FilegateError)]
            records = [record for record, _ in new]
            dedupe = dedupe and self._dedupe
            stored = (
                await self._repository.add_many(records, self._quotas, dedupe=dedupe)
                if records
                else []
            )
            for (record, span), outcome in zip(new, stored, strict=True):
                _describe(span, outcome, record)
        outcomes = dict(zip((r.id for r in records), stored, strict=True))
        self._metrics.registered(sum(_is_new(outcomes[r.id], r) for r in records))
        return [
            item if isinstance(item, FilegateError) else self._registration_of(outcomes[item[0].id])
            for item in prepared
        ]

    def _prepared(
        self, owner: str, request: RegistrationRequest, spans: ExitStack, link: str | None
    ) -> tuple[FileRecord, Span] | FilegateError:
        """A valid request's record, with its registration span opened in ``spans``."""
        try:
            validated = self._validated(request)
        except FilegateError as error:
            return error
        span = spans.enter_context(self._tracer.span(FILE_REGISTER, links=(link,)))
        return self._new_record(owner, validated, span.trace_parent), span

    def _registration_of(self, stored: FileRecord | QuotaExceeded) -> Registration | FilegateError:
        if isinstance(stored, QuotaExceeded):
            return stored
        if stored.state is FileState.READY:  # a duplicate: add_many returned it in place
            return Registration(stored, None, deduplicated=True)
        return Registration(stored, self._upload_for(stored))

    async def fresh_upload(self, owner: str, file_id: str) -> SignedRequest:
        """A new upload URL for a file still waiting for its bytes (INVALID_STATE otherwise)."""
        record = await self._repository.get_owned(owner, file_id)
        if record is None:
            raise not_found()
        upload = self._upload_for(record)
        if upload is None:
            raise FilegateError(
                ErrorCode.INVALID_STATE,
                f"The file is {record.state.value}; upload URLs exist only while registered "
                "and before the upload deadline.",
            )
        return upload

    def _upload_for(self, record: FileRecord) -> SignedRequest | None:
        remaining = record.upload_expires_at - self._clock.now()
        if record.state is not FileState.REGISTERED or remaining <= timedelta(0):
            return None
        threshold = self._policy.multipart_threshold
        if threshold is not None and record.declared_size >= threshold:
            return None
        ttl = min(self._policy.upload_url_ttl, remaining)
        return self._signer.sign_upload(record.object_key, record.upload_spec, ttl)

    def _validated(self, request: RegistrationRequest) -> RegistrationRequest:
        policy = self._policy
        if request.size <= 0:
            raise FilegateError(ErrorCode.EMPTY_FILE, "A file must have at least one byte.")
        if request.size > policy.max_size:
            raise FilegateError(
                ErrorCode.FILE_TOO_LARGE,
                f"Declared size {request.size} is over the limit of {policy.max_size} bytes.",
                {"limit": policy.max_size},
            )
        content_type = request.content_type.strip().lower()
        if content_type not in policy.allowed_types:
            raise FilegateError(
                ErrorCode.UNSUPPORTED_MEDIA_TYPE,
                f"Type {request.content_type!r} is not accepted.",
                {"allowed": sorted(policy.allowed_types)},
            )
        return RegistrationRequest(
            filename=_checked_filename(request.filename),
            content_type=content_type,
            size=request.size,
            sha256=_checked_sha256(request.sha256),
            metadata=_checked_metadata(request.metadata),
            print_size=check_print_size(request.print_size) if request.print_size else None,
        )

    def _new_record(
        self, owner: str, request: RegistrationRequest, trace_parent: str | None
    ) -> FileRecord:
        now = self._clock.now()
        file_id = new_file_id()
        return FileRecord(
            id=file_id,
            owner=owner,
            object_key=object_key(owner, file_id),
            filename=request.filename,
            declared_size=request.size,
            declared_type=request.content_type,
            declared_sha256=request.sha256,
            state=FileState.REGISTERED,
            created_at=now,
            updated_at=now,
            upload_expires_at=now + self._policy.upload_window,
            metadata=dict(request.metadata),
            print_size=request.print_size,
            trace_parent=trace_parent,
        )


def _describe(span: Span, stored: FileRecord | QuotaExceeded, record: FileRecord) -> None:
    """Name on a registration's span the file it came to and how, or why it was refused."""
    if isinstance(stored, QuotaExceeded):
        span.fail(stored.code.value)
        return
    span.set(FILE_ID, stored.id)
    if stored.id == record.id:
        outcome = "new"
    elif _is_duplicate(stored, record):
        outcome = "deduplicated"
    else:
        outcome = "replayed"
    span.set(REGISTRATION_OUTCOME, outcome)


def _is_new(stored: FileRecord | QuotaExceeded, record: FileRecord) -> bool:
    return isinstance(stored, FileRecord) and stored.id == record.id


def _is_duplicate(stored: FileRecord, record: FileRecord) -> bool:
    """Whether ``add`` returned an older READY file with ``record``'s declared SHA-256."""
    return (
        stored.id != record.id
        and stored.state is FileState.READY
        and stored.sha256 == record.declared_sha256
    )


def _same_declaration(a: FileRecord, b: FileRecord) -> bool:
    """Whether two registrations declare the same file (what an idempotent retry sends)."""
    return (
        a.filename,
        a.declared_type,
        a.declared_size,
        a.declared_sha256,
        a.metadata,
        a.print_size,
    ) == (b.filename, b.declared_type, b.declared_size, b.declared_sha256, b.metadata, b.print_size)


def _invalid(detail: str) -> FilegateError:
    return FilegateError(ErrorCode.VALIDATION_ERROR, detail)


def _checked_filename(filename: str) -> str:
    if not filename.strip() or len(filename.encode()) > 1024:
        raise _invalid("filename must be 1 to 1024 bytes and not blank.")
    return sanitize_filename(filename)


def _checked_sha256(value: str | None) -> str | None:
    if value is None:
        return None
    normalised = value.strip().lower()
    if not _SHA256_HEX.fullmatch(normalised):
        raise _invalid("sha256 must be 64 hexadecimal characters.")
    return normalised


def _checked_metadata(metadata: Mapping[str, Any]) -> Mapping[str, Any]:
    # Deeper values break JSON serialisers (recursion limits) when the file is read back.
    if _nests_deeper_than(metadata, MAX_METADATA_DEPTH):
        raise _invalid(f"metadata nests deeper than {MAX_METADATA_DEPTH} levels.")
    try:
        # NaN and infinities are not JSON; a lone surrogate is not UTF-8 (UnicodeEncodeError).
        encoded = json.dumps(metadata, ensure_ascii=False, allow_nan=False).encode()
    except (TypeError, ValueError) as exc:
        raise _invalid("metadata must be a JSON object.") from exc
    if len(encoded) > MAX_METADATA_BYTES:
        raise _invalid(f"metadata is over {MAX_METADATA_BYTES} bytes as JSON.")
    return metadata


def _nests_deeper_than(value: object, limit: int) -> bool:
    """Whether lists and objects in ``value`` nest more than ``limit`` levels (no recursion)."""
    pending: list[tuple[object, int]] = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, Mapping):
            children = list(item.values())
        elif isinstance(item, list | tuple):
            children = list(item)
        else:
            continue
        if depth >= limit:
            return True
        pending.extend((child, depth + 1) for child in children)
    return False
