"""When a periodic sweep is due again."""

from __future__ import annotations

from datetime import timedelta

_SLACK_SHARE = 0.1


def claim_slack(interval: timedelta) -> timedelta:
    """How early a claim may be taken: a tenth of the interval.

    Every worker wakes once per interval; without slack, one that wakes a few milliseconds
    before the sweep is due would skip it, and the sweep would run every other interval.
    """
    return interval * _SLACK_SHARE
