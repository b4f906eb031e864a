"""Wake-ups for the SQL queue: receivers waiting for messages wake when messages are sent.

A receiver takes a :class:`Ticket` for its queue name *before* it looks for messages, then
waits on it after finding none, so a send that commits while it looks still wakes it (the
ticket is already set). Waiting always happens between transactions, never inside one.

How a send reaches the waiters depends on the database:

* **SQLite** (:class:`QueueSignals`): the sender calls :meth:`QueueSignals.committed` once
  its transaction has committed, which wakes the receivers of this process. Other processes
  on the same file find the message at their next (backed-off) poll.
* **PostgreSQL** (:class:`PostgresQueueSignals`): the sender calls
  :meth:`QueueSignals.notify_in` inside its transaction, a ``NOTIFY`` that the server
  delivers at commit to every process listening, this one included. One listener
  connection per :class:`~filegate.adapters.sql.database.Database` receives them and wakes
  the waiters; it is opened by the first wait (receives that never wait never open it),
  reconnects when it drops, and wakes every waiter whenever it (re)subscribes, since
  sends made while it was not listening went unheard.

The signals of a database are shared by every queue and ledger on it: :func:`signals_for`.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from dataclasses import dataclass, field

from sqlalchemy import Connection, func, select
from sqlalchemy.engine import make_url

from filegate.adapters.sql.database import POSTGRES_CONNECT_TIMEOUT_SECONDS, Database

log = logging.getLogger(__name__)

CHANNEL = "filegate_queue"
"""The ``LISTEN``/``NOTIFY`` channel; each notification's payload is a queue name."""
RECONNECT_FIRST_SECONDS = 0.1
RECONNECT_MAX_SECONDS = 5.0

_signals: weakref.WeakKeyDictionary[Database, QueueSignals] = weakref.WeakKeyDictionary()


def signals_for(database: Database) -> QueueSignals:
    """The one :class:`QueueSignals` of ``database`` (created on first use)."""
    signals = _signals.get(database)
    if signals is None:
        signals = PostgresQueueSignals(database.url) if database.is_postgres else QueueSignals()
        _signals[database] = signals
    return signals


@dataclass(eq=False)
class Ticket:
    """One wait's claim on the next wake-up of a queue (see the module docstring)."""

    queue: str
    event: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass
class WaitCounts:
    """How waits ended: ``woken`` by a signal, or ``timed_out`` (then the receiver polls)."""

    woken: int = 0
    timed_out: int = 0


class QueueSignals:
    """In-process wake-ups per queue name (all of this runs on the event loop)."""

    def __init__(self) -> None:
        self._pending: dict[str, Ticket] = {}
        self._waiting: dict[str, int] = {}
        self.counts = WaitCounts()

    def ticket(self, queue: str) -> Ticket:
        """The ticket the next wake-up of ``queue`` sets; take it before looking."""
        ticket = self._pending.get(queue)
        if ticket is None:
            ticket = self._pending[queue] = Ticket(queue)
        return ticket

    async def wait(self, ticket: Ticket, seconds: float) -> bool:
        """Wait up to ``seconds`` for ``ticket``; whether a wake-up set it (else: timed out)."""
        self._waiting[ticket.queue] = self._waiting.get(ticket.queue, 0) + 1
        try:
            async with asyncio.timeout(seconds):
                await ticket.event.wait()
        except TimeoutError:
            self.counts.timed_out += 1
            return False
        finally:
            self._waiting[ticket.queue] -= 1
        self.counts.woken += 1
        return True

    def waiting(self, queue: str) -> int:
        """How many receivers of ``queue`` are waiting now."""
        return self._waiting.get(queue, 0)

    def wake(self, queue: str) -> None:
        """Wake every receiver waiting on ``queue`` (or about to wait on a taken ticket)."""
        ticket = self._pending.pop(queue, None)
        if ticket is not None:
            ticket.event.set()

    def wake_all(self) -> None:
        for queue in list(self._pending):
            self.wake(queue)

    def notify_in(self, connection: Connection, *queues: str) -> None:
        """Inside the transaction that makes messages of ``queues`` visible (nothing here)."""

    def committed(self, queue: str) -> None:
        """After that transaction committed: wake this process's receivers of ``queue``."""
        self.wake(queue)

    async def close(self) -> None:
        """Release what the signals hold (nothing here)."""


class PostgresQueueSignals(QueueSignals):
    """``NOTIFY`` in the sending transaction; a listener connection wakes the waiters."""

    def __init__(self, url: str) -> None:
        super().__init__()
        self._conninfo = make_url(url).set(drivername="postgresql").render_as_string(False)
        self._listener: asyncio.Task[None] | None = None
        self.listening = asyncio.Event()
        """Set while the listener connection is subscribed (a notification would arrive)."""
        self.connects = 0

    def listen(self) -> None:
        """Start the listener unless it runs (each wait does; it then runs until closed)."""
        if self._listener is None or self._listener.done():
            self._listener = asyncio.get_running_loop().create_task(self._listen())

    async def wait(self, ticket: Ticket, seconds: float) -> bool:
        self.listen()
        return await super().wait(ticket, seconds)

    def notify_in(self, connection: Connection, *queues: str) -> None:
        """One statement for every name (each ``NOTIFY`` is its own round trip otherwise)."""
        if queues:
            connection.execute(select(*(func.pg_notify(CHANNEL, queue) for queue in queues)))

    def committed(self, queue: str) -> None:
        """Nothing: the notification wakes this process too, through the listener."""

    async def close(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.cancel()
            await asyncio.gather(listener, return_exceptions=True)

    async def _listen(self) -> None:
        delay = RECONNECT_FIRST_SECONDS
        while True:
            connects = self.connects
            try:
                await self._listen_once()
            except Exception as exc:  # a dropped connection: psycopg's OperationalError
                log.warning("queue listener lost its connection: %s", exc)
            self.listening.clear()
            if self.connects > connects:  # it did connect: the next failure starts afresh
                delay = RECONNECT_FIRST_SECONDS
            await asyncio.sleep(delay)
            delay = min(delay * 2, RECONNECT_MAX_SECONDS)

    async def _listen_once(self) -> None:
        import psycopg  # the postgres extra; only a PostgreSQL database gets here

        async with await psycopg.AsyncConnection.connect(
            self._conninfo,
            autocommit=True,
            connect_timeout=POSTGRES_CONNECT_TIMEOUT_SECONDS,
            keepalives=1,
            keepalives_idle=30,
        ) as connection:
            await connection.execute(f"LISTEN {CHANNEL}")
            self.connects += 1
            self.listening.set()
            # Sends while it was not listening were not heard: every waiter looks again.
            self.wake_all()
            async for notification in connection.notifies():
                self.wake(notification.payload)
