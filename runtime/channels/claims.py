"""Who works on what. A worker claims a chat before it handles the chat's events, and a
conversation before it delivers its messages: each is worked on by one worker at a time, in order,
while different chats go on in parallel on any number of workers, on any number of machines.

PostgreSQL: a claim is a session-level advisory lock (`pg_try_advisory_lock`) held on one
connection per worker. PostgreSQL releases every lock of a connection that ends: a worker killed
(`kill -9`: its socket closes at once), or its machine gone (TCP keepalives, set below, close the
connection within about 10 s), loses its claims, and the next look of any other worker (at most
POLL seconds later, at once when woken) takes its chats over. No lease to wait out, no consensus of
our own. LISTEN/NOTIFY wakes the workers when events or messages are stored.

SQLite (one machine): one worker process works at a time. It holds a lease row, renewed while it
works; another process takes over when the lease lapses (LEASE_TTL).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from sqlalchemy.engine import Engine

from runtime.channels.store import INBOX_CHANNEL, OUTBOX_CHANNEL, ChannelStore

log = logging.getLogger(__name__)
LEASE_TTL = 6.0  # SQLite: seconds a worker's lease runs unless renewed (renewed every third of it)
RECONNECT = (0.2, 5.0)  # seconds between attempts to reach PostgreSQL again: from, at most
# a dead peer's connection is closed after about idle + interval * count seconds
KEEPALIVE = "keepalives=1 keepalives_idle=5 keepalives_interval=2 keepalives_count=3"
APP_PREFIX = "chatloom worker "  # the claims connection's application_name: how workers see each other
SERVER_KEEPALIVE = "SET tcp_keepalives_idle = 5; SET tcp_keepalives_interval = 2; SET tcp_keepalives_count = 3"


class ClaimsLost(Exception):
    """The connection that held this worker's claims ended: every claim is gone."""


def transient(exc: BaseException) -> bool:
    """Whether an error is the database being away (restarting, the network lost), not the work:
    the work is left as it is, to be done again once the database answers."""
    from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

    if isinstance(exc, ClaimsLost | OperationalError | InterfaceError):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    try:
        import psycopg
    except ImportError:
        return False
    return isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError)


class Claims(Protocol):
    ready: bool

    async def open(self) -> None: ...
    async def close(self) -> None: ...
    async def take(self, keys: Sequence[int]) -> set[int]:
        """The keys this worker now holds, of those asked for (others hold the rest)."""

    async def give(self, keys: Sequence[int]) -> None: ...


class Everything:
    """No claims: this process does all the work (tests drive rounds directly)."""

    ready = True

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def take(self, keys: Sequence[int]) -> set[int]:
        return set(keys)

    async def give(self, keys: Sequence[int]) -> None:
        return None


class Lease(Everything):
    """SQLite: all the work while this process holds the database's lease, none otherwise. The
    lease is taken at the start and renewed every third of LEASE_TTL, busy or idle, so a standby
    worker knows within LEASE_TTL that the one working has stopped."""

    def __init__(self, store: ChannelStore, holder: str) -> None:
        self.store, self.holder = store, holder
        self._until = 0.0
        self._renewal: asyncio.Task[None] | None = None
        self.ready = False

    async def open(self) -> None:
        self._renew()
        self._renewal = asyncio.create_task(self._keep(), name="chatloom-lease")

    async def _keep(self) -> None:
        while True:
            await asyncio.sleep(LEASE_TTL / 3)
            with contextlib.suppress(Exception):  # the database busy: try at the next renewal
                self._renew()

    def _renew(self) -> None:
        held = self.store.lease(self.holder, LEASE_TTL)
        if held and not self.ready:
            log.warning("worker %s now does the channels' work (it holds the lease)", self.holder)
        self.ready = held
        self._until = time.monotonic() + LEASE_TTL / 3

    async def take(self, keys: Sequence[int]) -> set[int]:
        if time.monotonic() >= self._until:  # the renewal is late (a long turn): renew before working
            self._renew()
        return set(keys) if self.ready else set()

    async def close(self) -> None:
        if self._renewal is not None:
            self._renewal.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._renewal
            self._renewal = None
        if self.ready:
            self.ready = False
            self.store.release(self.holder)  # another worker takes over at once


class Advisory:
    """PostgreSQL: advisory locks on a connection of this worker's own, and LISTEN on another."""

    def __init__(self, engine: Engine, holder: str, heard: Callable[[str], None]) -> None:
        self.conninfo = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        self.holder, self.heard = holder, heard
        self._locks: Any = None
        self._listener: asyncio.Task[None] | None = None
        self.ready = False

    async def _connect(self, role: str = "claims") -> Any:
        import psycopg

        name = f"{APP_PREFIX}{self.holder}"[:63] if role == "claims" else "chatloom listener"
        conninfo = psycopg.conninfo.make_conninfo(self.conninfo, application_name=name)
        conn = await psycopg.AsyncConnection.connect(f"{conninfo} {KEEPALIVE}", autocommit=True)
        await conn.execute(SERVER_KEEPALIVE)  # PostgreSQL notices a vanished worker, too
        return conn

    async def open(self) -> None:
        self._locks = await self._connect()
        self.ready = True
        self._listener = asyncio.create_task(self._listen(), name="chatloom-listen")

    async def close(self) -> None:
        self.ready = False
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
        if self._locks is not None:
            with contextlib.suppress(Exception):
                await self._locks.close()  # every claim goes with it
            self._locks = None

    async def take(self, keys: Sequence[int]) -> set[int]:
        if not keys:
            return set()
        rows = await self._run("SELECT k FROM unnest(%s::bigint[]) AS k WHERE pg_try_advisory_lock(k)", list(keys))
        return {row[0] for row in rows}

    async def give(self, keys: Sequence[int]) -> None:
        if keys and self.ready:
            await self._run("SELECT pg_advisory_unlock(k) FROM unnest(%s::bigint[]) AS k", list(keys))

    async def peers(self) -> set[str]:
        """The workers connected to this database now (this one too), by holder."""
        sql = (
            "SELECT DISTINCT application_name FROM pg_stat_activity "
            f"WHERE datname = current_database() AND application_name LIKE '{APP_PREFIX}%%'"
        )
        return {row[0].removeprefix(APP_PREFIX) for row in await self._run(sql)}

    async def _run(self, sql: str, keys: list[int] | None = None) -> list[Any]:
        import psycopg

        if self._locks is None:
            raise ClaimsLost("not connected")
        try:
            cursor = await self._locks.execute(sql, (keys,) if keys is not None else None)
            return list(await cursor.fetchall())
        except psycopg.Error as exc:
            if not self._locks.closed and not self._locks.broken:
                raise
            self.ready = False
            raise ClaimsLost(str(exc)) from None

    async def reconnect(self) -> None:
        """After ClaimsLost: a new connection (the old claims are gone; their chats may be anyone's)."""
        with contextlib.suppress(Exception):
            await self._locks.close()
        wait = RECONNECT[0]
        while True:
            try:
                self._locks = await self._connect()
            except Exception as exc:  # noqa: BLE001 - PostgreSQL down: try again, a little later each time
                log.warning("worker %s cannot reach PostgreSQL (%s); trying again", self.holder, type(exc).__name__)
                await asyncio.sleep(wait)
                wait = min(wait * 2, RECONNECT[1])
                continue
            self.ready = True
            log.warning("worker %s reconnected to PostgreSQL and claims chats again", self.holder)
            return

    async def _listen(self) -> None:
        wait = RECONNECT[0]
        while True:
            try:
                conn = await self._connect("listen")
                try:
                    await conn.execute(f"LISTEN {INBOX_CHANNEL}")
                    await conn.execute(f"LISTEN {OUTBOX_CHANNEL}")
                    wait = RECONNECT[0]
                    self.heard(INBOX_CHANNEL)  # anything stored while not listening
                    self.heard(OUTBOX_CHANNEL)
                    async for note in conn.notifies():
                        self.heard(note.channel)
                finally:
                    with contextlib.suppress(Exception):
                        await conn.close()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the connection ended: listen again
                log.warning("worker %s stopped hearing PostgreSQL (%s); listening again", self.holder, exc)
                await asyncio.sleep(wait)
                wait = min(wait * 2, RECONNECT[1])
