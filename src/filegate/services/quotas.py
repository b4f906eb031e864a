"""Reading an owner's usage against its quota (enforcement happens in the repository's add)."""

from __future__ import annotations

from dataclasses import dataclass

from filegate.domain.ports import UsageLedger
from filegate.domain.quotas import QuotaLimits, Usage


@dataclass(frozen=True)
class QuotaStatus:
    """An owner's usage and the limits that apply to it (0: unlimited)."""

    usage: Usage
    limits: QuotaLimits


class QuotaService:
    """The same limits for every owner, as configured."""

    def __init__(self, ledger: UsageLedger, limits: QuotaLimits) -> None:
        self._ledger = ledger
        self._limits = limits

    @property
    def limits(self) -> QuotaLimits:
        return self._limits

    async def status(self, owner: str) -> QuotaStatus:
        """The owner's current usage and limits."""
        return QuotaStatus(await self._ledger.usage(owner), self._limits)
