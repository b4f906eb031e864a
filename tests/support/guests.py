"""Guest sessions, grants and purges wired over the in-memory fakes, for unit tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from filegate.adapters.memory import MemoryObjectStore, MemoryQueue, MemoryRepository, MemorySigner
from filegate.adapters.memory.sessions import (
    MemoryGrantRepository,
    MemoryRateLimiter,
    MemorySessionRepository,
)
from filegate.adapters.sql.upload_ledger import SeparateUploadLedger
from filegate.domain.clock import ManualClock
from filegate.domain.models import FileRecord, Owner, OwnerKind
from filegate.domain.ports import (
    GrantRepository,
    PurgeableFiles,
    RateLimiter,
    SessionRepository,
)
from filegate.domain.principals import Principal
from filegate.services.grants import GrantPolicy, GrantService
from filegate.services.intake import Intake
from filegate.services.principals import Authenticator
from filegate.services.purge import OwnerPurger
from filegate.services.registration import Registrar, RegistrationPolicy, RegistrationRequest
from filegate.services.session_sweep import SessionSweeper
from filegate.services.sessions import SessionEnder, SessionPolicy, SessionService
from filegate.services.uploads import UploadRecorder
from tests.support.records import make_record

SESSION_TTL = timedelta(hours=6)
ALICE = Owner(OwnerKind.USER, "alice")
BOB = Owner(OwnerKind.USER, "bob")
REGISTRATION = RegistrationPolicy(
    max_size=10_000,
    allowed_types=frozenset({"image/jpeg"}),
    upload_window=timedelta(hours=1),
    upload_url_ttl=timedelta(minutes=15),
)


def photo(size: int = 10, content_type: str = "image/jpeg") -> RegistrationRequest:
    return RegistrationRequest(filename="p.jpg", content_type=content_type, size=size)


@dataclass
class Guests:
    """Every guest service over one set of fakes and one manual clock."""

    clock: ManualClock = field(default_factory=ManualClock)
    rate_per_minute: int = 3
    purge_batch: int = 2

    def __post_init__(self) -> None:
        clock = self.clock
        self.files = MemoryRepository(clock)
        self.grant_rows = MemoryGrantRepository()
        self.session_rows = MemorySessionRepository(self.files, self.grant_rows)
        self.limits = MemoryRateLimiter()
        self.queue = MemoryQueue(clock=clock)
        self.store = MemoryObjectStore()
        self.registrar = Registrar(
            self.files, MemorySigner(clock), clock, REGISTRATION, dedupe=True
        )
        ledger = SeparateUploadLedger(self.files, self.queue)
        self.uploads = UploadRecorder(
            self.files, self.store, ledger, clock, grace=timedelta(minutes=5)
        )
        self.ender = SessionEnder(self.session_rows, self.grant_rows, self.queue)
        policy = SessionPolicy(SESSION_TTL, self.rate_per_minute)
        self.sessions = SessionService(
            self.session_rows, self.ender, self.limits, clock, policy, b"address-key"
        )
        self.sweeper = SessionSweeper(self.session_rows, self.ender, self.limits, clock)
        self.purger = OwnerPurger(
            self.files,
            self.session_rows,
            self.session_rows,
            self.store,
            self.queue,
            clock,
            batch_size=self.purge_batch,
        )
        self.grants = GrantService(self.grant_rows, clock, GrantPolicy())
        self.intake = Intake(self.registrar, self.uploads, self.grant_rows, clock)
        self.authenticator = Authenticator(self.session_rows, self.grant_rows, clock)
        _ports_are_implemented(self.session_rows, self.session_rows, self.grant_rows, self.limits)

    async def stored_file(self, owner: Owner, data: bytes = b"jpeg") -> FileRecord:
        """A registered file of ``owner`` whose object is in the store."""
        record = await self.files.add(make_record(owner.key, clock=self.clock))
        self.store.put_bytes(record.object_key, data)
        return record

    async def queued(self) -> list[str]:
        """The bodies waiting in the queue (claims and deletes them)."""
        messages = await self.queue.receive(10, timedelta(minutes=1), timedelta(0))
        await self.queue.delete_batch([m.receipt for m in messages])
        return [m.body for m in messages]

    def principal(self, owner: Owner) -> Principal:
        return Principal.of_owner(owner)


def _ports_are_implemented(
    sessions: SessionRepository,
    purgeable: PurgeableFiles,
    grants: GrantRepository,
    limiter: RateLimiter,
) -> None:
    """Checked by mypy: the fakes implement the ports."""
