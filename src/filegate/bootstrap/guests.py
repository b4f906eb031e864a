"""Composition of guest sessions and upload grants: part of the composition root.

``filegate.bootstrap.runtime`` calls :func:`build_guests` once and hands the parts to the API
(authentication, sessions, grants, intake) and to the worker (purges, session sweep).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from filegate.adapters.sql.grants import SqlGrantRepository
from filegate.adapters.sql.rate import SqlRateLimiter
from filegate.adapters.sql.sessions import SqlSessionRepository
from filegate.config import Settings
from filegate.domain.messages import encode_owner_purge
from filegate.domain.ports import Clock, FileRepository, ObjectStore, Queue
from filegate.services.grants import GrantPolicy, GrantService
from filegate.services.intake import Intake
from filegate.services.principals import Authenticator
from filegate.services.purge import OwnerPurger
from filegate.services.registration import Registrar
from filegate.services.session_sweep import SessionSweeper
from filegate.services.sessions import SessionEnder, SessionPolicy, SessionService
from filegate.services.uploads import UploadRecorder


@dataclass(frozen=True)
class Guests:
    """Everything guest sessions and upload grants add to a process."""

    authenticator: Authenticator
    sessions: SessionService
    grants: GrantService
    intake: Intake
    sweeper: SessionSweeper
    purger: OwnerPurger


@dataclass(frozen=True)
class GuestDeps:
    """What the guests' services need from the rest of the runtime."""

    engine: AsyncEngine
    clock: Clock
    secret: str
    files: FileRepository
    objects: ObjectStore
    queue: Queue
    registrar: Registrar
    uploads: UploadRecorder


def build_guests(settings: Settings, deps: GuestDeps) -> Guests:
    """The services over SQL sessions, grants and rate windows in ``deps.engine``."""
    sessions = SqlSessionRepository(deps.engine)
    grants = SqlGrantRepository(deps.engine)
    limiter = SqlRateLimiter(deps.engine)
    ender = SessionEnder(sessions, grants, deps.queue, encode_owner_purge)
    purger = OwnerPurger(
        deps.files,
        sessions,
        sessions,
        deps.objects,
        deps.queue,
        encode_owner_purge,
        deps.clock,
        batch_size=settings.purge_batch_size,
    )
    return Guests(
        authenticator=Authenticator(sessions, grants, deps.clock),
        sessions=SessionService(
            sessions, ender, limiter, deps.clock, session_policy(settings), _address_key(deps)
        ),
        grants=GrantService(grants, deps.clock, grant_policy(settings)),
        intake=Intake(deps.registrar, deps.uploads, grants, deps.clock),
        sweeper=SessionSweeper(sessions, ender, limiter, deps.clock),
        purger=purger,
    )


def session_policy(settings: Settings) -> SessionPolicy:
    return SessionPolicy(
        ttl=timedelta(seconds=settings.session_ttl_seconds),
        rate_per_minute=settings.session_rate_per_minute,
    )


def grant_policy(settings: Settings) -> GrantPolicy:
    return GrantPolicy(
        default_uses=settings.grant_default_uses,
        max_uses=settings.grant_max_uses,
        default_ttl=timedelta(seconds=settings.grant_default_ttl_seconds),
        max_ttl=timedelta(seconds=settings.grant_max_ttl_seconds),
    )


def _address_key(deps: GuestDeps) -> bytes:
    return hmac.new(deps.secret.encode(), b"filegate/client-address", hashlib.sha256).digest()
