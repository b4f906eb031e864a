"""Standard Webhooks signatures: ``webhook-id``, ``webhook-timestamp``, ``webhook-signature``.

The signed content is ``"{webhook-id}.{webhook-timestamp}.{body}"``; each signature is
``v1,<base64 HMAC-SHA256>`` keyed with the base64-decoded part of a ``whsec_`` secret. With
several secrets (a rotation) the header carries one signature per secret, space-separated,
and a receiver holding any one of them accepts the request.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets as random_bytes
from collections.abc import Sequence
from datetime import datetime

from filegate.domain.webhooks import SECRET_PREFIX, secret_key

SECRET_BYTES = 32
USER_AGENT = "filegate"


def new_secret() -> str:
    """A fresh random secret, ``whsec_`` and 32 bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(random_bytes.token_bytes(SECRET_BYTES)).decode()


def signature(secrets: Sequence[str], msg_id: str, timestamp: int, body: str) -> str:
    """The ``webhook-signature`` value: ``v1,<b64>`` per secret, space-separated."""
    content = f"{msg_id}.{timestamp}.{body}".encode()
    return " ".join(_sign(secret_key(secret), content) for secret in secrets)


def headers(secrets: Sequence[str], msg_id: str, timestamp: datetime, body: str) -> dict[str, str]:
    """Every header of a signed delivery (``timestamp``: the attempt's time, UTC-aware)."""
    if timestamp.tzinfo is None:
        raise ValueError("the webhook timestamp must be timezone-aware")
    seconds = int(timestamp.timestamp())
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(seconds),
        "webhook-signature": signature(secrets, msg_id, seconds, body),
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }


def _sign(key: bytes, content: bytes) -> str:
    digest = hmac.new(key, content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()
