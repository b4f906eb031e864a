"""Guest sessions and upload grants: part of the composition root.

:func:`build_guests` gives the API its part (:class:`~filegate.http.context.GuestApi`:
authentication, sessions, grants, intake) and the worker its own (the session sweep and
the purger behind ``owner.purge`` messages).
"""

from __future__ import annotations

from dataclasses import dataclass

from filegate.bootstrap.policies import client_address_key, grant_policy, session_policy
from filegate.config import Settings
from filegate.domain.ports import (
    Clock,
    FileRepository,
    GrantRepository,
    ObjectStore,
    PurgeableFiles,
    Queue,
    RateLimiter,
    SessionRepository,
)
from filegate.http.context import GuestApi
from filegate.services.grants import GrantService
from filegate.services.intake import Intake
from filegate.services.principals import Authenticator
from filegate.services.purge import OwnerPurger
from filegate.services.registration import Registrar
from filegate.services.session_sweep import SessionSweeper
from filegate.services.sessions import SessionEnder, SessionService
from filegate.services.uploads import UploadRecorder


@dataclass(frozen=True, kw_only=True)
class Guests:
    """Everything guest sessions and upload grants add to a process."""

    api: GuestApi
    sweeper: SessionSweeper
    purger: OwnerPurger


@dataclass(frozen=True, kw_only=True)
class GuestDeps:
    """What the guests' services need from the rest of the runtime."""

    clock: Clock
    secret: str
    files: FileRepository
    sessions: SessionRepository
    purgeable: PurgeableFiles
    grants: GrantRepository
    rates: RateLimiter
    objects: ObjectStore
    queue: Queue
    registrar: Registrar
    uploads: UploadRecorder


def build_guests(settings: Settings, deps: GuestDeps) -> Guests:
    """The services over ``deps``' sessions, grants and rate windows."""
    ender = SessionEnder(deps.sessions, deps.grants, deps.queue)
    api = GuestApi(
        authenticator=Authenticator(deps.sessions, deps.grants, deps.clock),
        sessions=SessionService(
            deps.sessions,
            ender,
            deps.rates,
            deps.clock,
            session_policy(settings),
            client_address_key(deps.secret),
        ),
        grants=GrantService(deps.grants, deps.clock, grant_policy(settings)),
        intake=Intake(deps.registrar, deps.uploads, deps.grants, deps.clock),
    )
    return Guests(
        api=api,
        sweeper=SessionSweeper(deps.sessions, ender, deps.rates, deps.clock),
        purger=_purger(settings, deps),
    )


def _purger(settings: Settings, deps: GuestDeps) -> OwnerPurger:
    return OwnerPurger(
        deps.files,
        deps.purgeable,
        deps.sessions,
        deps.objects,
        deps.queue,
        deps.clock,
        batch_size=settings.purge_batch_size,
    )
