"""Settings of filegate processes that deliver webhooks to a test receiver."""

from __future__ import annotations

import json
from typing import Any

from tests.e2e.shapes import TEST_ENV
from tests.support.webhook_receiver import Receiver

OLD_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
NEW_SECRET = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"
SHORT_SCHEDULE = "[1, 2, 4]"  # seconds between attempts; the default spans a day


def hooks_env(*endpoints: dict[str, Any], **extra: str) -> dict[str, str]:
    """Settings for a filegate process delivering to ``endpoints`` on loopback over http."""
    return {
        **TEST_ENV,
        "FILEGATE_WEBHOOKS": json.dumps(list(endpoints)),
        "FILEGATE_WEBHOOK_ALLOW_HTTP": "true",
        "FILEGATE_WEBHOOK_ALLOW_PRIVATE": "true",
        "FILEGATE_WEBHOOK_RETRY_DELAYS_SECONDS": SHORT_SCHEDULE,
        **extra,
    }


def endpoint(name: str, receiver: Receiver, **fields: Any) -> dict[str, Any]:
    return {"name": name, "url": receiver.url, "secrets": [OLD_SECRET, NEW_SECRET], **fields}
