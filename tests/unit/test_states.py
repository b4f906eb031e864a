"""The transition table: every pair of states, allowed or forbidden."""

import itertools

import pytest

from filegate.domain.states import FINAL_STATES, FileState, can_transition

S = FileState
ALLOWED = {
    (S.REGISTERED, S.UPLOADED),
    (S.REGISTERED, S.READY),
    (S.REGISTERED, S.REJECTED),
    (S.REGISTERED, S.EXPIRED),
    (S.UPLOADED, S.READY),
    (S.UPLOADED, S.REJECTED),
    (S.REGISTERED, S.DELETED),
    (S.UPLOADED, S.DELETED),
    (S.READY, S.DELETED),
    (S.REJECTED, S.DELETED),
    (S.EXPIRED, S.DELETED),
}
ALL_PAIRS = list(itertools.product(FileState, FileState))


@pytest.mark.parametrize(("current", "target"), sorted(ALLOWED))
def test_allowed_transition(current: FileState, target: FileState) -> None:
    assert can_transition(current, target)


@pytest.mark.parametrize(("current", "target"), [p for p in ALL_PAIRS if p not in ALLOWED])
def test_forbidden_transition(current: FileState, target: FileState) -> None:
    assert not can_transition(current, target)


def test_nothing_leaves_deleted() -> None:
    assert not any(can_transition(S.DELETED, target) for target in FileState)


def test_final_states_lead_only_to_deleted() -> None:
    for state in FINAL_STATES:
        assert {t for t in FileState if can_transition(state, t)} <= {S.DELETED}


def test_state_values_are_the_lower_case_api_strings() -> None:
    assert [s.value for s in FileState] == [
        "registered",
        "uploaded",
        "ready",
        "rejected",
        "expired",
        "deleted",
    ]
