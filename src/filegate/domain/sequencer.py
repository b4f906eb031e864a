"""Ordering S3 events by their ``sequencer`` (hex strings of varying length).

S3 documents the comparison: right-pad the shorter value with zeros, then compare the
strings lexicographically. Sequencers only order events for the same key.
"""


def _normalised(sequencer: str, width: int) -> str:
    return sequencer.upper().ljust(width, "0")


def is_stale(candidate: str | None, latest: str | None) -> bool:
    """Whether an event with ``candidate`` is not newer than the ``latest`` one applied.

    Events without a sequencer (local store, client ``complete``) are never stale.
    """
    if not candidate or not latest:
        return False
    width = max(len(candidate), len(latest))
    return _normalised(candidate, width) <= _normalised(latest, width)
