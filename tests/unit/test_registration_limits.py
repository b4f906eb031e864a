"""Registrar with quotas and deduplication (on in-memory fakes)."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from filegate.adapters.memory import MemoryRepository, MemorySigner
from filegate.domain.clock import ManualClock
from filegate.domain.errors import ErrorCode, FilegateError
from filegate.domain.models import Actor, FileRecord, StateChange
from filegate.domain.quotas import QuotaLimits, Usage
from filegate.domain.states import FileState
from filegate.services.registration import (
    Registrar,
    Registration,
    RegistrationPolicy,
    RegistrationRequest,
)

OWNER = "user:alice"
OTHER = "user:bob"
SHA = "cd" * 32
POLICY = RegistrationPolicy(
    max_size=10_000,
    allowed_types=frozenset({"image/jpeg"}),
    upload_window=timedelta(hours=1),
    upload_url_ttl=timedelta(minutes=15),
)


@dataclasses.dataclass
class Harness:
    registrar: Registrar
    repository: MemoryRepository
    signer: MemorySigner

    async def ready(self, owner: str = OWNER, sha256: str = SHA) -> FileRecord:
        registration = await self.registrar.register(owner, request(sha256=sha256))
        change = StateChange(FileState.READY, Actor.WORKER, sha256=sha256)
        ready = await self.repository.transition(registration.file.id, FileState.REGISTERED, change)
        assert ready is not None
        return ready


def harness(limits: QuotaLimits | None = None, dedupe: bool = True) -> Harness:
    clock = ManualClock()
    repository = MemoryRepository(clock)
    signer = MemorySigner(clock)
    registrar = Registrar(
        repository,
        signer,
        clock,
        POLICY,
        quotas=limits,
        dedupe=dedupe,
    )
    return Harness(registrar, repository, signer)


def request(size: int = 100, sha256: str | None = None) -> RegistrationRequest:
    return RegistrationRequest("photo.jpg", "image/jpeg", size, sha256)


async def test_over_the_file_limit_is_quota_exceeded_with_limit_and_usage() -> None:
    h = harness(QuotaLimits(max_files=2))
    for _ in range(2):
        await h.registrar.register(OWNER, request())
    with pytest.raises(FilegateError) as raised:
        await h.registrar.register(OWNER, request())
    assert raised.value.code is ErrorCode.QUOTA_EXCEEDED
    assert raised.value.extra == {"quota": "files", "limit": 2, "usage": 2}


async def test_over_the_pending_limit_is_too_many_pending() -> None:
    h = harness(QuotaLimits(max_pending=1))
    await h.registrar.register(OWNER, request())
    with pytest.raises(FilegateError) as raised:
        await h.registrar.register(OWNER, request())
    assert raised.value.code is ErrorCode.TOO_MANY_PENDING
    assert raised.value.extra == {"quota": "pending", "limit": 1, "usage": 1}


async def test_a_batch_refuses_only_the_items_over_quota() -> None:
    h = harness(QuotaLimits(max_bytes=250))
    outcomes = await h.registrar.register_many(OWNER, [request(100), request(200), request(150)])
    assert isinstance(outcomes[0], Registration)
    assert isinstance(outcomes[1], FilegateError)
    assert outcomes[1].code is ErrorCode.QUOTA_EXCEEDED
    assert outcomes[1].extra == {"quota": "bytes", "limit": 250, "usage": 100}
    assert isinstance(outcomes[2], Registration)
    assert await h.repository.usage(OWNER) == Usage(2, 2, 250)


async def test_a_known_sha256_returns_the_owners_ready_file_without_upload() -> None:
    h = harness(QuotaLimits(max_pending=1))
    ready = await h.ready()
    signed = len(h.signer.uploads)

    again = await h.registrar.register(OWNER, request(sha256=SHA.upper()))

    assert again == Registration(ready, None, deduplicated=True)
    assert len(h.signer.uploads) == signed
    assert await h.repository.usage(OWNER) == Usage(0, 1, 100)


async def test_deduplication_never_crosses_owners() -> None:
    h = harness()
    await h.ready(OTHER)
    registration = await h.registrar.register(OWNER, request(sha256=SHA))
    assert not registration.deduplicated
    assert registration.file.owner == OWNER
    assert registration.upload is not None


async def test_only_ready_files_deduplicate() -> None:
    h = harness()
    first = await h.registrar.register(OWNER, request(sha256=SHA))
    second = await h.registrar.register(OWNER, request(sha256=SHA))
    assert not second.deduplicated
    assert second.file.id != first.file.id


async def test_without_dedupe_or_sha256_a_new_file_is_registered() -> None:
    off = harness(dedupe=False)
    await off.ready()
    assert not (await off.registrar.register(OWNER, request(sha256=SHA))).deduplicated
    on = harness()
    await on.ready()
    assert not (await on.registrar.register(OWNER, request())).deduplicated
