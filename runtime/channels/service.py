"""The channels at work: webhook events in (verified, stored, acknowledged, then handled once, in
order per chat: inbox.py), replies out (written with the turn, delivered in order per chat, paced,
retried, dead-lettered: outbox.py), through the adapters of the installed channel types
(adapters.py). Work is shared by every worker process on the database (claims.py, crew.py).

One `Channels` per process: `chatloom serve` (webhooks, and the work unless --no-worker) or
`chatloom worker` (the work only).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from nodes.api import Media, MediaError, Outbound
from runtime.channels.adapters import AdapterCache, ChannelType, installed
from runtime.channels.base import Adapter, Rejected
from runtime.channels.claims import Advisory, Claims, Everything, Lease
from runtime.channels.crew import Crew
from runtime.channels.inbox import GroupCommit, Inbox
from runtime.channels.outbox import Outbox
from runtime.channels.store import INBOX_CHANNEL, ChannelStore, Deployment
from runtime.engine import Runtime

log = logging.getLogger(__name__)
INBOX_SLOTS = 16  # chats one worker handles at once
OUTBOX_SLOTS = 64  # conversations one worker delivers to at once (mostly waiting for the platform)
PEERS_EVERY = 2.0  # seconds between looks at which workers are connected (for the log)

__all__ = ["Channels", "GroupCommit"]


class Channels:
    """Adapters, inbox and outbox for every deployment in one database."""

    def __init__(
        self,
        runtime: Runtime,
        store: ChannelStore,
        *,
        types: dict[str, ChannelType] | None = None,
        poll: float = 0.5,
        pace: dict[str, float] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.runtime, self.store = runtime, store
        self.types = types if types is not None else installed()
        self.poll, self.clock = poll, clock
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.files = runtime.services.media
        self.adapters = AdapterCache(store, self.types, self.files)
        store.delivered = frozenset(name for name, kind in self.types.items() if kind.make is not None)
        runtime.store.outbox = store.outbox_writer()  # a turn's messages are queued in its transaction
        self.inbox = Inbox(runtime, store, self.adapters, clock=clock, woken=self._woken_inbox)
        self.outbox = Outbox(
            runtime,
            store,
            self.adapters,
            pace=pace if pace is not None else {n: k.pace for n, k in self.types.items() if k.pace},
            rate={n: k.rate for n, k in self.types.items() if k.rate},
            clock=clock,
        )
        self.rate = self.outbox.rate
        self.claims: Claims = Everything()  # until started: this process does what it is asked to
        ids = store.ids
        self.chats = Crew[int](
            "inbox",
            scan=lambda limit, skip: runtime.io(store.chats_waiting, limit, skip),
            key=lambda key: key,
            work=self.inbox.handle_chat,
            claims=lambda: self.claims,
            slots=INBOX_SLOTS,
            poll=poll,
        )
        self.conversations = Crew[str](
            "outbox",
            scan=lambda limit, skip: runtime.io(store.conversations_due, clock(), limit, skip | self.outbox.held()),
            key=lambda cid: ids.key("out", cid),
            work=self.outbox.deliver_conversation,
            claims=lambda: self.claims,
            slots=OUTBOX_SLOTS,
            poll=poll,
        )
        self._tasks: list[asyncio.Task[None]] = []
        self._working = False  # started with work=True
        self._recovering: asyncio.Lock | None = None
        runtime.subscribe(self._on_turn)
        register = getattr(self.files, "register", None)
        if register is not None:  # voice notes are read through the adapter that received them
            for kind in self.types.values():
                if kind.file_scheme:
                    register(kind.file_scheme, self.read_file)

    # lifecycle

    async def start(self, *, work: bool = True) -> None:
        """Start handling events and delivering messages (work=False: only receive webhooks, and
        leave the work to `chatloom worker` processes)."""
        self._tasks.append(asyncio.create_task(self.inbox.watch_backlog(), name="chatloom-backlog"))
        if not work:
            return
        if self.store.engine.dialect.name == "postgresql":
            self.claims = Advisory(self.store.engine, self.holder, self._heard)
        else:
            self.claims = Lease(self.store, self.holder)
        await self.claims.open()
        self._working = True
        if isinstance(self.claims, Advisory):
            self._tasks.append(asyncio.create_task(self._watch_peers(self.claims), name="chatloom-peers"))
        self._recovering = asyncio.Lock()
        for crew in (self.chats, self.conversations):
            self._tasks.append(asyncio.create_task(crew.run(self._recover), name=f"chatloom-{crew.name}"))
            crew.wake.set()

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        await self.chats.stop()
        await self.conversations.stop()
        await self.adapters.close()
        await self.claims.close()
        self.claims = Everything()
        self._working = False

    async def _recover(self) -> None:
        """The claims' connection ended (PostgreSQL restarted, the network lost): stop what was
        being done under them, connect again, and claim afresh."""
        assert self._recovering is not None
        async with self._recovering:
            if self.claims.ready:
                return  # the other crew did it
            log.warning("worker %s lost its claims; stopping its work in progress and reconnecting", self.holder)
            await self.chats.stop()
            await self.conversations.stop()
            reconnect = getattr(self.claims, "reconnect", None)
            if reconnect is not None:
                await reconnect()
            self.chats.wake.set()
            self.conversations.wake.set()

    async def _watch_peers(self, claims: Advisory) -> None:
        """Say when another worker comes or goes: a worker gone (killed, its machine lost) has its
        chats taken over by the others at their next look."""
        known: set[str] | None = None
        while True:
            try:
                now = await claims.peers()
            except Exception:  # noqa: BLE001 - the claims' own recovery deals with a lost connection
                now = known or set()
            if known is None:
                log.info("worker %s started; %d worker(s) share the work", self.holder, len(now))
            else:
                for gone in sorted(known - now):
                    log.warning("worker %s is gone (its connection closed); the others take its chats over", gone)
                for came in sorted(now - known - {self.holder}):
                    log.info("worker %s joined; %d worker(s) share the work", came, len(now))
            known = now
            await asyncio.sleep(PEERS_EVERY)

    def health(self) -> dict[str, Any]:
        """What a readiness probe and an operator want to know about this process's channel work."""
        return {
            "working": self._working,
            "claims": self.claims.ready,
            "chats": len(self.chats.running),
            "conversations": len(self.conversations.running),
            "handled": self.chats.done,
            "sent": self.conversations.done,
            "resent": self.outbox.resent,
            "backlog": self.inbox.backlog,
        }

    # adapters

    def adapter(self, channel: str, account: str) -> tuple[Deployment, Adapter] | None:
        """The deployment and its adapter (see AdapterCache)."""
        return self.adapters.get(channel, account)

    async def forget(self, channel: str, account: str) -> None:
        """Read the deployment again at once (this process changed it)."""
        await self.adapters.forget(channel, account)

    async def read_file(self, media: Media) -> bytes:
        """The bytes behind a channel's file reference (`telegram-file:<account>/<id>`,
        `whatsapp-media:<account>/<media id>`)."""
        scheme, _, rest = media.url.partition(":")
        account, slash, _ = rest.partition("/")
        channel = next((n for n, k in self.types.items() if k.file_scheme and k.file_scheme == scheme), "")
        found = self.adapter(channel, account) if slash and channel else None
        if found is None:
            raise MediaError("That file can no longer be fetched from the chat app.")
        return bytes(await found[1].fetch(media))

    def challenge(self, channel: str, account: str, query: dict[str, str]) -> str:
        """A platform's subscription handshake (Meta's hub.challenge). Raises Rejected."""
        found = self.adapter(channel, account)
        if found is None:
            raise Rejected(404, f"There is no {channel} channel {account!r} here.")
        return str(found[1].challenge(query))

    def nudge(self) -> None:
        """Look for work now (a dead letter revived)."""
        self.chats.wake.set()
        self.conversations.wake.set()

    async def switch(self, channel: str, account: str, version: int, *, move: bool = False) -> tuple[int, int]:
        """Answer on a channel account with another published version of its flow. New
        conversations take it; running ones finish on theirs, or (move=True) continue on it where
        they stand when they can (see Runtime.move). Returns (moved, stayed)."""
        d = self.store.deployment(channel, account)
        if d is None:
            raise LookupError(f"There is no {channel} channel {account!r}.")
        await self.runtime.plan(d.flow_id, version)  # FlowNotFound when that version was never published
        self.store.deploy(channel, account, d.flow_id, version, d.credentials, api_base=d.api_base)
        await self.forget(channel, account)
        if not move:
            return 0, 0
        return await self.runtime.move(d.flow_id, version, channel=channel, account=account)

    # in and out

    async def receive(
        self, channel: str, account: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, Any] | None]:
        """A webhook request (see Inbox.receive). Raises Rejected."""
        return await self.inbox.receive(channel, account, headers, body)

    async def handle_inbox(self) -> int:
        """Handle every stored event not handled yet, in order per chat; how many."""
        return await self.chats.drain()

    async def deliver(self) -> int:
        """Send every message that is due (a conversation's next one after its previous, paced per
        chat); how many were sent."""
        return await self.conversations.drain()

    def _woken_inbox(self) -> None:
        self.chats.wake.set()
        self.conversations.wake.set()  # a reply outside the flow may be waiting

    def _heard(self, channel: str) -> None:
        (self.chats if channel == INBOX_CHANNEL else self.conversations).wake.set()

    def _on_turn(self, cid: str, messages: Sequence[Outbound]) -> None:
        self.conversations.wake.set()  # this process saved a turn: its messages are in the outbox
