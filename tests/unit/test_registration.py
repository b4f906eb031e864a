"""Registrar: validation with exact codes, normalisation, keys, ids, idempotency, upload URLs."""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import timedelta
from typing import Any

import pytest

from filegate.adapters.memory import MemoryRepository, MemorySigner
from filegate.domain.clock import ManualClock
from filegate.domain.errors import ErrorCode, FilegateError
from filegate.domain.models import Actor, StateChange, UploadSpec
from filegate.domain.ports import UploadSigner
from filegate.domain.states import FileState
from filegate.services.registration import (
    MAX_METADATA_BYTES,
    MAX_METADATA_DEPTH,
    Registrar,
    RegistrationPolicy,
    RegistrationRequest,
    object_key,
)

OWNER = "user:alice"
OTHER = "user:bob"
MAX_SIZE = 1000
WINDOW = timedelta(hours=1)
TTL = timedelta(minutes=15)
SHA = "ab" * 32
POLICY = RegistrationPolicy(
    max_size=MAX_SIZE,
    allowed_types=frozenset({"image/jpeg", "image/png", "image/heic"}),
    upload_window=WINDOW,
    upload_url_ttl=TTL,
)


@dataclasses.dataclass
class Harness:
    registrar: Registrar
    repository: MemoryRepository
    signer: MemorySigner
    clock: ManualClock


@pytest.fixture
def h() -> Harness:
    clock = ManualClock()
    repository = MemoryRepository(clock)
    signer = MemorySigner(clock)
    checked: UploadSigner = signer  # the fake implements the port (checked by mypy)
    return Harness(Registrar(repository, checked, clock, POLICY), repository, signer, clock)


def request(**overrides: Any) -> RegistrationRequest:
    fields: dict[str, Any] = {"filename": "photo.jpg", "content_type": "image/jpeg", "size": 10}
    return RegistrationRequest(**{**fields, **overrides})


def nested(levels: int) -> list[object]:
    """A list nested ``levels`` deep: ``[[...[]...]]``."""
    value: list[object] = []
    for _ in range(levels - 1):
        value = [value]
    return value


async def stored_count(h: Harness, owner: str = OWNER) -> int:
    return len((await h.repository.list_owned(owner, None, 1000, None)).items)


async def test_register_stores_a_registered_file_and_signs_its_upload(h: Harness) -> None:
    registration = await h.registrar.register(OWNER, request(sha256=SHA, metadata={"a": 1}))

    record = registration.file
    assert await h.repository.get(record.id) == record
    assert record.state is FileState.REGISTERED
    assert (record.owner, record.filename, record.declared_size) == (OWNER, "photo.jpg", 10)
    assert record.metadata == {"a": 1}
    assert record.created_at == record.updated_at == h.clock.now()
    assert record.upload_expires_at == h.clock.now() + WINDOW
    assert registration.upload is not None
    assert registration.upload.method == "PUT"
    [signed] = h.signer.uploads
    assert signed.key == record.object_key
    assert signed.spec == UploadSpec(10, "image/jpeg", SHA)


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"size": 0}, ErrorCode.EMPTY_FILE),
        ({"size": MAX_SIZE + 1}, ErrorCode.FILE_TOO_LARGE),
        ({"content_type": "application/pdf"}, ErrorCode.UNSUPPORTED_MEDIA_TYPE),
        ({"content_type": "image/jpeg; charset=binary"}, ErrorCode.UNSUPPORTED_MEDIA_TYPE),
        ({"content_type": ""}, ErrorCode.UNSUPPORTED_MEDIA_TYPE),
        ({"sha256": "zz"}, ErrorCode.VALIDATION_ERROR),
        ({"sha256": "a" * 63}, ErrorCode.VALIDATION_ERROR),
        ({"sha256": "g" * 64}, ErrorCode.VALIDATION_ERROR),
        ({"sha256": ""}, ErrorCode.VALIDATION_ERROR),
        ({"filename": ""}, ErrorCode.VALIDATION_ERROR),
        ({"filename": " \t\n "}, ErrorCode.VALIDATION_ERROR),
        ({"filename": "x" * 1025}, ErrorCode.VALIDATION_ERROR),
        ({"filename": "é" * 513}, ErrorCode.VALIDATION_ERROR),  # 1026 UTF-8 bytes
        ({"metadata": {"blob": "x" * MAX_METADATA_BYTES}}, ErrorCode.VALIDATION_ERROR),
        ({"metadata": {"when": object()}}, ErrorCode.VALIDATION_ERROR),
        ({"metadata": {"ratio": float("nan")}}, ErrorCode.VALIDATION_ERROR),
        ({"metadata": {"ratio": float("inf")}}, ErrorCode.VALIDATION_ERROR),
        ({"metadata": {"note": "lone \ud800 surrogate"}}, ErrorCode.VALIDATION_ERROR),
        ({"metadata": {"deep": nested(MAX_METADATA_DEPTH)}}, ErrorCode.VALIDATION_ERROR),
        ({"metadata": {"deeper": nested(10_000)}}, ErrorCode.VALIDATION_ERROR),
    ],
)
async def test_refusals_carry_their_code_and_store_nothing(
    h: Harness, overrides: dict[str, Any], code: ErrorCode
) -> None:
    with pytest.raises(FilegateError) as refused:
        await h.registrar.register(OWNER, request(**overrides))

    assert refused.value.code is code
    assert await stored_count(h) == 0
    assert h.signer.uploads == []


async def test_too_large_names_the_limit(h: Harness) -> None:
    with pytest.raises(FilegateError) as refused:
        await h.registrar.register(OWNER, request(size=MAX_SIZE + 1))
    assert refused.value.extra["limit"] == MAX_SIZE


async def test_size_at_the_limit_and_metadata_at_its_limit_are_accepted(h: Harness) -> None:
    # {"b": "xxx..."} is 9 bytes of JSON around the value.
    metadata = {"b": "x" * (MAX_METADATA_BYTES - 9)}
    registration = await h.registrar.register(OWNER, request(size=MAX_SIZE, metadata=metadata))
    assert registration.file.declared_size == MAX_SIZE


async def test_metadata_may_nest_up_to_the_depth_limit(h: Harness) -> None:
    # The metadata object is the first level.
    metadata = {"deep": nested(MAX_METADATA_DEPTH - 1)}
    registration = await h.registrar.register(OWNER, request(metadata=metadata))
    assert registration.file.metadata == metadata


async def test_content_type_is_normalised(h: Harness) -> None:
    registration = await h.registrar.register(OWNER, request(content_type="  Image/JPEG "))
    assert registration.file.declared_type == "image/jpeg"
    assert h.signer.uploads[0].spec.content_type == "image/jpeg"


async def test_sha256_is_lower_cased(h: Harness) -> None:
    registration = await h.registrar.register(OWNER, request(sha256=f" {SHA.upper()} "))
    assert registration.file.declared_sha256 == SHA


async def test_filename_is_sanitised(h: Harness) -> None:
    registration = await h.registrar.register(
        OWNER, request(filename="../../etc/pa\x00ss\u202ewd.jpg ")
    )
    assert registration.file.filename == "passwd.jpg"


async def test_object_key_is_owner_hash_and_id_without_client_bytes(h: Harness) -> None:
    registration = await h.registrar.register(
        OWNER, request(filename="../evil name.jpg", content_type="image/png")
    )
    record = registration.file
    owner_hash = hashlib.sha256(OWNER.encode()).hexdigest()[:16]
    assert record.object_key == f"{owner_hash}/{record.id}" == object_key(OWNER, record.id)
    assert "evil" not in record.object_key and "png" not in record.object_key


async def test_ids_are_unguessable_and_unique(h: Harness) -> None:
    ids = [(await h.registrar.register(OWNER, request())).file.id for _ in range(200)]

    assert len(set(ids)) == len(ids)
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids)  # 128 bits, hex
    assert len({i[:4] for i in ids}) > 100  # random, not a counter or a time prefix


async def test_idempotency_key_returns_the_first_file(h: Harness) -> None:
    first = await h.registrar.register(OWNER, request(), idempotency_key="order-1")
    again = await h.registrar.register(OWNER, request(), idempotency_key="order-1")

    assert again.file == first.file
    assert again.upload is not None
    assert await stored_count(h) == 1


async def test_idempotency_key_reused_for_another_file_is_a_conflict(h: Harness) -> None:
    first = await h.registrar.register(OWNER, request(), idempotency_key="order-1")

    with pytest.raises(FilegateError) as raised:
        await h.registrar.register(OWNER, request(size=20), idempotency_key="order-1")

    assert raised.value.code is ErrorCode.IDEMPOTENCY_CONFLICT
    assert raised.value.extra == {"file_id": first.file.id}
    assert await stored_count(h) == 1


async def test_idempotency_keys_are_per_owner(h: Harness) -> None:
    mine = await h.registrar.register(OWNER, request(), idempotency_key="k")
    theirs = await h.registrar.register(OTHER, request(), idempotency_key="k")

    assert mine.file.id != theirs.file.id
    assert theirs.file.owner == OTHER


async def test_upload_url_lives_for_the_ttl_when_the_window_is_longer(h: Harness) -> None:
    registration = await h.registrar.register(OWNER, request())
    assert h.signer.uploads[0].expires_in == TTL
    assert registration.upload is not None
    assert registration.upload.expires_at == h.clock.now() + TTL


async def test_fresh_upload_url_never_outlives_the_upload_window(h: Harness) -> None:
    file = (await h.registrar.register(OWNER, request())).file
    h.clock.advance(WINDOW - timedelta(minutes=4))

    upload = await h.registrar.fresh_upload(OWNER, file.id)

    assert h.signer.uploads[-1].expires_in == timedelta(minutes=4)
    assert upload.expires_at == file.upload_expires_at


async def test_no_upload_url_once_the_window_has_passed(h: Harness) -> None:
    file = (await h.registrar.register(OWNER, request())).file
    h.clock.advance(WINDOW)

    with pytest.raises(FilegateError) as refused:
        await h.registrar.fresh_upload(OWNER, file.id)

    assert refused.value.code is ErrorCode.INVALID_STATE
    assert len(h.signer.uploads) == 1


async def test_idempotent_repeat_after_the_window_has_no_upload(h: Harness) -> None:
    await h.registrar.register(OWNER, request(), idempotency_key="late")
    h.clock.advance(WINDOW + timedelta(seconds=1))

    again = await h.registrar.register(OWNER, request(), idempotency_key="late")

    assert again.upload is None


@pytest.mark.parametrize("state", [FileState.UPLOADED, FileState.READY, FileState.EXPIRED])
async def test_no_upload_url_unless_registered(h: Harness, state: FileState) -> None:
    file = (await h.registrar.register(OWNER, request())).file
    await h.repository.transition(file.id, FileState.REGISTERED, StateChange(state, Actor.WORKER))

    with pytest.raises(FilegateError) as refused:
        await h.registrar.fresh_upload(OWNER, file.id)

    assert refused.value.code is ErrorCode.INVALID_STATE


@pytest.mark.parametrize("file_id", ["another-owner", "missing", ""])
async def test_fresh_upload_for_a_file_not_owned_is_not_found(h: Harness, file_id: str) -> None:
    file = (await h.registrar.register(OTHER, request())).file
    target = file.id if file_id == "another-owner" else file_id

    with pytest.raises(FilegateError) as refused:
        await h.registrar.fresh_upload(OWNER, target)

    assert refused.value.code is ErrorCode.FILE_NOT_FOUND


async def test_register_many_keeps_order_and_isolates_failures(h: Harness) -> None:
    requests = [
        request(filename="a.jpg"),
        request(size=0),
        request(filename="c.png", content_type="image/png"),
        request(content_type="text/plain"),
        request(sha256="nope"),
        request(filename="f.jpg"),
    ]

    results = await h.registrar.register_many(OWNER, requests)

    outcomes = [r.code if isinstance(r, FilegateError) else r.file.filename for r in results]
    assert outcomes == [
        "a.jpg",
        ErrorCode.EMPTY_FILE,
        "c.png",
        ErrorCode.UNSUPPORTED_MEDIA_TYPE,
        ErrorCode.VALIDATION_ERROR,
        "f.jpg",
    ]
    assert await stored_count(h) == 3
