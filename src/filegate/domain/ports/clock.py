"""Time, injected: the core never reads the system clock itself."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class Clock(Protocol):
    """The current time, for services and adapters that must not read the system clock."""

    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...
