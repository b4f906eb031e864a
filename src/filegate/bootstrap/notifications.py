"""What events carry, rendered by the API's own schemas (so a webhook's ``data`` is exactly
what ``GET /v1/files/{id}`` returns), and the outbox that records them."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from filegate.adapters.sql.database import Database as SqlDatabase
from filegate.adapters.sql.events import Outbox
from filegate.adapters.sql.queue_signals import signals_for
from filegate.bootstrap.policies import print_thresholds
from filegate.config import Settings
from filegate.domain.models import FileRecord
from filegate.domain.printing import PrintThresholds
from filegate.domain.sessions import Claim, GuestSession
from filegate.http.schemas import FileOut
from filegate.http.session_schemas import ClaimOut, SessionOut


class _EndedSession(SessionOut):
    """A session as the sessions API shows it, and how it ended."""

    ended_at: datetime | None
    end_reason: str | None


def outbox_for(settings: Settings, database: SqlDatabase) -> Outbox:
    """The outbox of ``database``; events are relayed only when webhooks are configured."""
    renderer = ApiEventRenderer(print_thresholds(settings))
    return Outbox(renderer, signals_for(database), relay=bool(settings.webhooks))


class ApiEventRenderer:
    """``EventRenderer`` through the response schemas of the API."""

    def __init__(self, thresholds: PrintThresholds) -> None:
        self._thresholds = thresholds

    def file(self, record: FileRecord) -> Mapping[str, Any]:
        return FileOut.of(record, thresholds=self._thresholds).model_dump(mode="json")

    def session(self, session: GuestSession) -> Mapping[str, Any]:
        return _EndedSession(
            id=session.id,
            expires_at=session.expires_at,
            ended_at=session.ended_at,
            end_reason=session.end_reason.value if session.end_reason is not None else None,
        ).model_dump(mode="json")

    def claim(self, claim: Claim) -> Mapping[str, Any]:
        user = claim.session.claimed_by or ""
        return ClaimOut.of(claim, user).model_dump(mode="json")
