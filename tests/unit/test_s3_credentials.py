"""Presigning credentials: read once, renewed before they expire, never used after."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

import pytest
from aiobotocore.credentials import AioCredentials, AioRefreshableCredentials
from aiobotocore.session import AioSession

from filegate.adapters.s3.credentials import (
    FrozenCredentials,
    PresignerKeeper,
    session_credentials,
)
from filegate.domain.clock import ManualClock
from filegate.domain.errors import BackendUnavailable

START = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


class RotatingSource:
    """Hands out ``key-1``, ``key-2``, ... each valid for an hour from the clock's now."""

    def __init__(self, clock: ManualClock, lifetime: timedelta | None = timedelta(hours=1)):
        self.clock = clock
        self.lifetime = lifetime
        self.reads = 0
        self.failed_reads = 0
        self.failing = False

    async def __call__(self) -> FrozenCredentials:
        if self.failing:
            self.failed_reads += 1
            raise BackendUnavailable("credential endpoint down")
        self.reads += 1
        expires_at = self.clock.now() + self.lifetime if self.lifetime else None
        return FrozenCredentials(f"key-{self.reads}", "secret", "token", expires_at)


def access_key_in(url: str) -> str:
    return parse_qs(urlsplit(url).query)["X-Amz-Credential"][0].split("/")[0]


def signed_with(keeper: PresignerKeeper) -> str:
    url = keeper.current().presign("GET", "https://h", "/k", {}, {}, 60)
    return access_key_in(url)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


async def test_long_term_credentials_are_read_once_and_never_refreshed(clock: ManualClock) -> None:
    source = RotatingSource(clock, lifetime=None)
    keeper = PresignerKeeper(source, "eu-west-1", clock)
    await keeper.load()

    clock.advance(timedelta(days=30))

    assert not keeper.refresh_due()
    assert not await keeper.refresh_if_due()
    assert signed_with(keeper) == "key-1"
    assert source.reads == 1


async def test_expiring_credentials_are_renewed_within_the_margin(clock: ManualClock) -> None:
    source = RotatingSource(clock)
    keeper = PresignerKeeper(source, "eu-west-1", clock, refresh_margin=timedelta(minutes=15))
    await keeper.load()

    clock.advance(timedelta(minutes=44))
    assert not await keeper.refresh_if_due()
    assert signed_with(keeper) == "key-1"

    clock.advance(timedelta(minutes=2))
    assert await keeper.refresh_if_due()
    assert signed_with(keeper) == "key-2"
    assert keeper.expires_at == clock.now() + timedelta(hours=1)


async def test_expired_credentials_are_never_used_to_sign(clock: ManualClock) -> None:
    source = RotatingSource(clock)
    keeper = PresignerKeeper(source, "eu-west-1", clock)
    await keeper.load()
    source.failing = True

    clock.advance(timedelta(minutes=50))
    with pytest.raises(BackendUnavailable):
        await keeper.refresh_if_due()
    assert signed_with(keeper) == "key-1"  # still valid for ten minutes

    clock.advance(timedelta(minutes=10))
    with pytest.raises(BackendUnavailable):
        keeper.current()


async def test_nothing_is_signed_before_credentials_are_loaded(clock: ManualClock) -> None:
    keeper = PresignerKeeper(RotatingSource(clock), "eu-west-1", clock)

    with pytest.raises(BackendUnavailable):
        keeper.current()


async def test_the_background_refresher_survives_a_failed_read(clock: ManualClock) -> None:
    source = RotatingSource(clock)
    keeper = PresignerKeeper(source, "eu-west-1", clock)
    await keeper.load()
    source.failing = True
    clock.advance(timedelta(minutes=50))
    task = asyncio.create_task(keeper.keep_fresh(poll_seconds=0.001))
    try:
        await until(lambda: source.failed_reads >= 2)
        assert not task.done()  # the failed reads did not end the refresher
        source.failing = False
        await until(lambda: source.reads == 2)
    finally:
        task.cancel()

    assert signed_with(keeper) == "key-2"


async def until(condition: Callable[[], bool]) -> None:
    """Yield to the refresher until ``condition`` holds (the test's timeout bounds it)."""
    while not condition():
        await asyncio.sleep(0.001)


class FakeSession:
    """Only what ``session_credentials`` asks of an ``AioSession``."""

    def __init__(self, credentials: object) -> None:
        self._credentials = credentials

    async def get_credentials(self) -> object:
        return self._credentials


def read_from(credentials: object) -> Any:
    return session_credentials(cast(AioSession, FakeSession(credentials)))()


async def test_session_credentials_carry_the_expiry_of_refreshable_ones() -> None:
    expiry = datetime.now(UTC) + timedelta(hours=1)
    refreshable = AioRefreshableCredentials.create_from_metadata(
        {
            "access_key": "ASIA",
            "secret_key": "s",
            "token": "t",
            "expiry_time": expiry.isoformat(),
        },
        refresh_using=_never,
        method="test",
    )

    frozen = await read_from(refreshable)

    assert (frozen.access_key, frozen.secret_key, frozen.token) == ("ASIA", "s", "t")
    assert frozen.expires_at == expiry
    assert frozen.expires_at.tzinfo is not None


async def test_session_credentials_of_long_term_keys_do_not_expire() -> None:
    frozen = await read_from(AioCredentials("AKIA", "s"))

    assert frozen == FrozenCredentials("AKIA", "s", None, None)


async def test_missing_credentials_are_backend_unavailable() -> None:
    with pytest.raises(BackendUnavailable):
        await read_from(None)


async def _never() -> dict[str, Any]:
    raise AssertionError("no refresh expected")
