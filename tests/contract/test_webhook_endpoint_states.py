"""Which webhook endpoints are disabled, over SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from filegate.adapters.sql.database import open_database
from filegate.adapters.sql.webhook_endpoints import SqlEndpointStates
from filegate.domain.clock import ManualClock

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
async def states(request: pytest.FixtureRequest) -> AsyncIterator[SqlEndpointStates]:
    database = open_database(request.getfixturevalue(f"{request.param}_url"))
    try:
        yield SqlEndpointStates(database)
    finally:
        await database.dispose()


async def test_an_endpoint_is_disabled_at_the_threshold_of_410s_in_a_row(
    states: SqlEndpointStates,
) -> None:
    now = ManualClock().now()

    assert await states.record_gone("orders", now, 3) is False
    assert await states.record_gone("orders", now, 3) is False
    assert await states.disabled() == {}
    assert await states.record_gone("orders", now, 3) is True
    assert await states.record_gone("orders", now, 3) is False  # already disabled

    assert await states.disabled() == {"orders": now}


async def test_a_delivery_between_410s_starts_the_count_again(states: SqlEndpointStates) -> None:
    now = ManualClock().now()
    await states.record_gone("orders", now, 2)
    await states.record_delivered("orders")
    await states.record_delivered("never-gone")  # nothing to reset: no row needed

    assert await states.record_gone("orders", now, 2) is False
    assert await states.record_gone("orders", now, 2) is True


async def test_a_threshold_of_one_disables_at_the_first_410(states: SqlEndpointStates) -> None:
    now = ManualClock().now()
    assert await states.record_gone("orders", now, 1) is True
    assert set(await states.disabled()) == {"orders"}


async def test_enable_clears_the_disabled_state_once(states: SqlEndpointStates) -> None:
    now = ManualClock().now()
    await states.record_gone("orders", now, 1)

    assert await states.enable("orders") is True
    assert await states.enable("orders") is False
    assert await states.disabled() == {}
    assert await states.record_gone("orders", now, 2) is False  # the count started again
