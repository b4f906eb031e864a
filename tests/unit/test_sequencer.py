"""S3 sequencer ordering: right-pad with zeros, then compare."""

from hypothesis import given
from hypothesis import strategies as st

from filegate.domain.sequencer import is_stale

hex_strings = st.text(alphabet="0123456789ABCDEF", min_size=1, max_size=24)


def test_an_older_sequencer_is_stale() -> None:
    assert is_stale("0055AED6DCD90281E4", "0055AED6DCD90281E5")


def test_a_newer_sequencer_is_not_stale() -> None:
    assert not is_stale("0055AED6DCD90281E6", "0055AED6DCD90281E5")


def test_the_same_event_again_is_stale() -> None:
    assert is_stale("0055AED6DCD90281E5", "0055AED6DCD90281E5")


def test_shorter_values_are_right_padded_before_comparing() -> None:
    # "0055AED6DCD9028" pads to "0055AED6DCD90280..." which is below "...0281E5".
    assert is_stale("0055AED6DCD9028", "0055AED6DCD90281E5")
    assert not is_stale("0055AED6DCD90281E5", "0055AED6DCD9028")


def test_case_does_not_matter() -> None:
    assert is_stale("00ab", "00AB")


def test_events_without_a_sequencer_are_never_stale() -> None:
    assert not is_stale(None, "0055")
    assert not is_stale("0055", None)
    assert not is_stale(None, None)


@given(hex_strings, hex_strings)
def test_exactly_one_of_two_distinct_sequencers_is_stale(a: str, b: str) -> None:
    width = max(len(a), len(b))
    if a.ljust(width, "0") == b.ljust(width, "0"):
        assert is_stale(a, b) and is_stale(b, a)
    else:
        assert is_stale(a, b) != is_stale(b, a)
