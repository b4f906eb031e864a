"""Retention rules: retained, due, partial updates and the validation of a deadline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from filegate.domain.errors import ErrorCode, FilegateError
from filegate.domain.retention import (
    KEEP,
    Retention,
    RetentionUpdate,
    check_retention,
    is_due,
    is_retained,
)
from filegate.domain.states import FileState
from tests.support.records import make_record

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
MAX_AHEAD = timedelta(days=30)
SECOND = timedelta(seconds=1)


@pytest.mark.parametrize(
    ("retain_until", "pinned", "retained", "due"),
    [
        (None, False, False, False),
        (None, True, True, False),
        (NOW + SECOND, False, True, False),
        (NOW, False, False, True),
        (NOW - SECOND, False, False, True),
        (NOW - SECOND, True, True, False),
    ],
    ids=["nothing", "pinned", "ahead", "at-deadline", "past", "past-but-pinned"],
)
def test_retained_and_due(
    retain_until: datetime | None, pinned: bool, retained: bool, due: bool
) -> None:
    record = make_record(retain_until=retain_until, pinned=pinned)
    assert (is_retained(record, NOW), is_due(record, NOW)) == (retained, due)


def test_a_deleted_file_is_never_due() -> None:
    record = make_record(retain_until=NOW - SECOND, state=FileState.DELETED)
    assert not is_due(record, NOW)


def test_an_update_changes_only_the_fields_it_gives() -> None:
    current = Retention(NOW + SECOND, pinned=False)
    assert RetentionUpdate(pinned=True).applied_to(current) == Retention(NOW + SECOND, True)
    assert RetentionUpdate(retain_until=None).applied_to(current) == Retention(None, False)
    assert RetentionUpdate().applied_to(current) == current
    assert RetentionUpdate(retain_until=KEEP, pinned=KEEP).applied_to(current) == current


def test_a_deadline_ahead_within_the_maximum_is_accepted() -> None:
    check_retention(Retention(NOW + MAX_AHEAD), NOW, MAX_AHEAD)
    check_retention(Retention(None), NOW, MAX_AHEAD)


@pytest.mark.parametrize(
    "retention",
    [
        Retention(NOW),
        Retention(NOW - SECOND),
        Retention(NOW + MAX_AHEAD + SECOND),
        Retention(NOW - SECOND, pinned=True),
        Retention(datetime(2030, 1, 1)),  # naive on purpose
    ],
    ids=["now", "past", "too-far", "past-pinned", "naive"],
)
def test_a_bad_deadline_is_a_validation_error(retention: Retention) -> None:
    with pytest.raises(FilegateError) as raised:
        check_retention(retention, NOW, MAX_AHEAD)
    assert raised.value.code is ErrorCode.VALIDATION_ERROR


def test_a_pinned_file_may_have_a_deadline_beyond_the_maximum() -> None:
    check_retention(Retention(NOW + 10 * MAX_AHEAD, pinned=True), NOW, MAX_AHEAD)


def test_too_far_names_the_maximum_in_days() -> None:
    with pytest.raises(FilegateError) as raised:
        check_retention(Retention(NOW + 2 * MAX_AHEAD), NOW, MAX_AHEAD)
    assert raised.value.extra == {"max_retention_days": 30}
