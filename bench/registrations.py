"""What the registration benchmarks send: declarations of files, and bearer tokens."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from filegate.adapters.tokens import TokenAuthority
from filegate.domain.clock import SystemClock
from filegate.domain.models import Owner, OwnerKind

FILES_PATH = "/v1/files"
BATCH_PATH = "/v1/files/batch"
PHOTO_SIZE = 2_483_117
"""A typical phone JPEG; only declared, never uploaded."""


def new_secret() -> str:
    """A fresh ``FILEGATE_SECRET`` for one benchmark server."""
    return secrets.token_urlsafe(32)


def bearer_headers(secret: str, user: str = "bench") -> dict[str, str]:
    """An ``Authorization`` header for ``user``, signed with the server's ``secret``."""
    authority = TokenAuthority(secret, SystemClock())
    token = authority.mint(Owner(OwnerKind.USER, user), timedelta(hours=1))
    return {"Authorization": f"Bearer {token}"}


def owners_headers(secret: str, connections: int, many: bool) -> list[dict[str, str]]:
    """One header per connection: all for user ``bench``, or (``many``) a user each."""
    if not many:
        return [bearer_headers(secret)] * connections
    return [bearer_headers(secret, f"bench-{index}") for index in range(connections)]


def declaration(index: int = 0) -> dict[str, Any]:
    """The body of ``POST /v1/files`` for a photo, with a declared SHA-256."""
    return {
        "filename": f"IMG_{index:04d}.jpg",
        "content_type": "image/jpeg",
        "size": PHOTO_SIZE,
        "sha256": hashlib.sha256(index.to_bytes(8, "big")).hexdigest(),
    }
