"""The channels at work: webhook events in (verified, stored, acknowledged, then handled once),
replies out (through the outbox, in order per conversation, paced, retried, dead-lettered).

One `Channels` per server process, started and stopped with the runtime's app.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
import os
import random
import socket
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from nodes.api import Button, Inbound, Media, MediaError, Outbound
from runtime.channels.base import Adapter, ChannelEvent, Rejected, SendFailed
from runtime.channels.degrade import degrade, read_answer
from runtime.channels.store import ChannelStore, Deployment
from runtime.engine import ConversationExists, Runtime

log = logging.getLogger(__name__)
AdapterFactory = Callable[[str, dict[str, Any], str], Adapter]


def _telegram(account: str, credentials: dict[str, Any], api_base: str) -> Adapter:
    from runtime.channels.telegram import Telegram  # python-telegram-bot only where Telegram is used

    return Telegram(account, credentials, api_base)


def _slack(account: str, credentials: dict[str, Any], api_base: str) -> Adapter:
    from runtime.channels.slack import Slack

    return Slack(account, credentials, api_base)


def _meta(channel: str) -> AdapterFactory:
    def make(account: str, credentials: dict[str, Any], api_base: str) -> Adapter:
        from runtime.channels.meta import Meta

        return Meta(channel, account, credentials, api_base)

    return make


def _whatsapp(account: str, credentials: dict[str, Any], api_base: str) -> Adapter:
    from runtime.channels.whatsapp import WhatsApp

    return WhatsApp(account, credentials, api_base)


ADAPTERS: dict[str, AdapterFactory] = {
    "whatsapp": _whatsapp,
    "telegram": _telegram,
    "slack": _slack,
    "messenger": _meta("messenger"),
    "instagram": _meta("instagram"),
}
MAX_ATTEMPTS = 8  # then a message goes to the dead letters
BACKOFF = (1.0, 60.0)  # first retry after about a second, never more than a minute apart
PACE = {
    "telegram": 1.0,
    "slack": 1.0,
    "messenger": 0.2,
    "instagram": 0.2,
}  # seconds between messages to one chat (both: about one a second)
RATE = {"whatsapp": 80}  # messages a second per account (WhatsApp: per business phone number)
LEASE_TTL = 30.0  # seconds a worker's lease runs unless renewed (renewed every third of it)
DEPLOYMENT_TTL = 5.0  # seconds a deployment is used before it is read again
NOTE_EVERY = 5.0  # seconds between writes of a channel's "last event received"
WEBHOOK_SHARE = 3.0  # while webhooks wait, the worker takes about a quarter of this process's time
UNUSABLE = "Sorry, I can only read text and the buttons here."
FILE_SCHEMES = {
    "telegram-file": "telegram",
    "whatsapp-media": "whatsapp",
}  # a channel's own file references → that channel's adapter
HEARS_AUDIO = {"speech.to_text"}  # node types that take a voice note as the first message


class Channels:
    """Adapters, inbox and outbox for every deployment in one database."""

    def __init__(
        self,
        runtime: Runtime,
        store: ChannelStore,
        *,
        adapters: dict[str, AdapterFactory] | None = None,
        poll: float = 0.5,
        pace: dict[str, float] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.runtime, self.store = runtime, store
        self.factories = adapters or ADAPTERS
        self.poll, self.pace, self.clock = poll, pace if pace is not None else PACE, clock
        self.rate = dict(RATE)
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._leasing = False  # only the started worker takes the lease; tests drive rounds directly
        self._renew_at = 0.0
        self._recent: dict[tuple[str, str], collections.deque[float]] = {}  # send times in the last second
        self._adapters: dict[tuple[str, str], tuple[Deployment, Adapter, float]] = {}
        self._closing: set[asyncio.Task[None]] = set()
        self._last_sent: dict[tuple[str, str, str], float] = {}
        self._noted: dict[tuple[str, str], float] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._inbox = GroupCommit(store.receive_many)
        self._waiting = 0  # webhook requests waiting for their events to be stored
        runtime.subscribe(self._on_turn)
        self.files = runtime.services.media
        register = getattr(self.files, "register", None)
        if register is not None:  # voice notes are read through the adapter that received them
            for scheme in FILE_SCHEMES:
                register(scheme, self.read_file)

    # lifecycle

    async def start(self, *, work: bool = True) -> None:
        """Start handling events and delivering messages (work=False: only receive webhooks, and
        leave the work to a `chatloom worker` process)."""
        if not work:
            return
        self._leasing = True
        self._task = asyncio.create_task(self._loop(), name="chatloom-channels")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for _, adapter, _ in self._adapters.values():
            await adapter.close()
        self._adapters.clear()
        await asyncio.gather(*self._closing, return_exceptions=True)
        if self._leasing:
            self._leasing = False
            self.store.release(self.holder)  # another worker takes over at once

    def adapter(self, channel: str, account: str) -> tuple[Deployment, Adapter] | None:
        """The deployment and its adapter. The deployment is read again every few seconds, so a
        change made by another process (the builder, while `chatloom worker` does the work) takes
        effect; the adapter is made again only when the credentials or the API address change."""
        key = (channel, account)
        found = self._adapters.get(key)
        now = time.monotonic()
        if found is not None and now - found[2] < DEPLOYMENT_TTL:
            return found[0], found[1]
        deployment = self.store.deployment(channel, account)
        factory = self.factories.get(channel)
        if deployment is None or factory is None:
            if found is not None:
                self._retire(self._adapters.pop(key)[1])
            return None
        adapter = found[1] if found is not None and _same_connection(found[0], deployment) else None
        if adapter is None:
            if found is not None:
                self._retire(found[1])
            adapter = factory(account, deployment.credentials, deployment.api_base)
            if hasattr(adapter, "files"):  # it uploads the bot's own files (spoken replies)
                adapter.files = self.files
        self._adapters[key] = (deployment, adapter, now)
        return deployment, adapter

    async def read_file(self, media: Media) -> bytes:
        """The bytes behind a channel's file reference (`telegram-file:<account>/<id>`,
        `whatsapp-media:<account>/<media id>`)."""
        scheme, _, rest = media.url.partition(":")
        account, slash, _ = rest.partition("/")
        found = self.adapter(FILE_SCHEMES.get(scheme, ""), account) if slash else None
        fetch = getattr(found[1], "fetch", None) if found is not None else None
        if fetch is None:
            raise MediaError("That file can no longer be fetched from the chat app.")
        return bytes(await fetch(media))

    def _retire(self, adapter: Adapter) -> None:
        with contextlib.suppress(RuntimeError):  # no running loop: nothing was opened
            self._closing.add(asyncio.get_running_loop().create_task(adapter.close()))

    def challenge(self, channel: str, account: str, query: dict[str, str]) -> str:
        """A platform's subscription handshake (Meta's hub.challenge). Raises Rejected."""
        found = self.adapter(channel, account)
        if found is None:
            raise Rejected(404, f"There is no {channel} channel {account!r} here.")
        answer = getattr(found[1], "challenge", None)
        if answer is None:
            raise Rejected(405, f"{channel} does not subscribe this way.")
        return str(answer(query))

    def nudge(self) -> None:
        """Look for work now (a dead letter revived)."""
        self._wake.set()

    async def forget(self, channel: str, account: str) -> None:
        """Read the deployment again at once (this process changed it)."""
        found = self._adapters.pop((channel, account), None)
        if found is not None:
            await found[1].close()

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

    # in

    async def receive(
        self, channel: str, account: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, Any] | None]:
        """A webhook request: verified first, then stored. The number of new events, and the answer
        to a set-up handshake if it was one. Raises Rejected."""
        found = self.adapter(channel, account)
        if found is None:
            raise Rejected(404, f"There is no {channel} channel {account!r} here.")
        deployment, adapter = found
        adapter.verify(headers, body)
        data = adapter.decode(headers, body)
        answer = adapter.handshake(data)
        if answer is not None:
            return 0, answer
        events = adapter.parse(data)
        now = self.clock()
        if now - self._noted.get((channel, account), 0.0) >= NOTE_EVERY:  # health, not a write per request
            self._noted[(channel, account)] = now
            self.store.note(channel, account, event=True)
        if deployment.paused or not events:
            return 0, None
        records = [(channel, account, event.event_id, event.to_json()) for event in events]
        self._waiting += 1
        try:
            fresh = sum(await self._inbox.add(records))
        finally:
            self._waiting -= 1
        if fresh:
            self._wake.set()
        return fresh, None

    async def handle_inbox(self) -> int:
        """Handle the stored events not handled yet, oldest first; how many."""
        handled = 0
        for row in self.store.new_events():
            assert row.id is not None
            if not self._working():
                break
            handled += 1
            started = time.perf_counter()
            try:
                await self._handle(json.loads(row.event))
            except Exception as exc:  # one bad event must not stop the others
                log.exception("channel event %s/%s %s failed", row.channel, row.account, row.event_id)
                self.store.note(row.channel, row.account, error=f"An event could not be handled: {type(exc).__name__}")
                self.store.finish_event(row.id, error=type(exc).__name__)
            else:
                self.store.finish_event(row.id)
            await self._make_way(time.perf_counter() - started)
        return handled

    async def _handle(self, record: dict[str, Any]) -> None:
        found = self.adapter(record["channel"], record["account"])
        if found is None:
            return  # undeployed since
        deployment, adapter = found
        event = ChannelEvent.from_json(record)
        cid, known = self.store.chat_for(event.channel, event.account, event.chat)
        self.store.bind_chat(cid, event.channel, event.account, event.chat)
        await adapter.acknowledge(event)
        if known is None:
            with contextlib.suppress(ConversationExists):  # started before a crash: queued below
                await self.runtime.start(
                    deployment.flow_id,
                    version=deployment.version,
                    user_id=event.user,
                    channel=event.channel,
                    account=event.account,
                    conversation_id=cid,
                )
            if event.kind == "audio" and await self._hears_audio(cid):
                await self.runtime.send(cid, event.inbound(), restart_on=deployment.version)
            self.store.enqueue_turns(cid)
            return
        inbound = event.inbound()
        if event.kind in ("other",):
            self._say(cid, event, UNUSABLE)
            return
        if event.choice is None and known.offered:
            choice = read_answer(event.text, [_button(b) for b in json.loads(known.offered)])
            if choice is not None:
                inbound = Inbound(text=event.text, choice=choice, media=inbound.media, event_id=inbound.event_id)
        await self.runtime.send(cid, inbound, restart_on=deployment.version)  # a new start takes the deployed version
        self.store.enqueue_turns(cid)  # also a redelivery's replies, if a crash came before they were queued

    async def _hears_audio(self, cid: str) -> bool:
        """Whether a new conversation waits at a step that listens to voice notes (a voice note
        that starts a conversation is then its answer, not only a hello)."""
        state = self.runtime.store.load(cid)
        if state is None or not state.node:
            return False
        plan = await self.runtime.plan(state.at_flow or state.flow_id, state.at_version or state.version)
        node = plan.nodes.get(state.node)
        return node is not None and node.type.type in HEARS_AUDIO

    def _say(self, cid: str, event: ChannelEvent, text: str) -> None:
        """A reply outside the flow (a message type it cannot use)."""
        self.store.enqueue_message(cid, event, Outbound(text=text))
        self._wake.set()

    def _working(self) -> bool:
        """Whether this process may do the channels' work now: with several worker processes on
        one database, one holds the lease and the others wait, so no message is sent twice."""
        if not self._leasing:
            return True
        now = time.monotonic()
        if now < self._renew_at:
            return True
        held = self.store.lease(self.holder, LEASE_TTL)
        self._renew_at = now + LEASE_TTL / 3 if held else 0.0
        return held

    async def _make_way(self, spent: float) -> None:
        """Between two pieces of the worker's work: acknowledging webhooks comes first. While
        requests wait, they get WEBHOOK_SHARE times the time the last piece took (the worker keeps
        a fair share under any load: the events are safe in the inbox, while a late
        acknowledgement makes the platform send again); otherwise carry on at once."""
        await _sleep(min(spent * WEBHOOK_SHARE, 0.1) if self._waiting else 0)

    def _on_turn(self, cid: str, messages: Sequence[Outbound]) -> None:
        if self.store.enqueue_turns(cid):  # a channel conversation (a wake-up too): deliver
            self._wake.set()

    # out

    async def deliver(self, rounds: int = 50) -> int:
        """Send every message that is due (a conversation's next one after its previous, paced per
        chat); how many were sent."""
        total = 0
        for _ in range(rounds):
            sent = await self._deliver_round()
            total += sent
            if not sent:
                break
        return total

    async def _deliver_round(self) -> int:
        sent = 0
        now = self.clock()
        for row in self.store.due(now):
            assert row.id is not None
            if not self._working():
                break
            started = time.perf_counter()
            key = (row.channel, row.account, row.chat)
            gap = self.pace.get(row.channel, 0.0)
            if now - self._last_sent.get(key, -1e18) < gap:
                continue  # paced: next round
            recent = self._recent.setdefault((row.channel, row.account), collections.deque())
            while recent and recent[0] <= now - 1.0:
                recent.popleft()
            if len(recent) >= self.rate.get(row.channel, 1_000_000):
                continue  # the account's rate is used up for this second
            found = self.adapter(row.channel, row.account)
            if found is None:
                self.store.dead(row.id, row.attempts, "The channel is no longer deployed.")
                continue
            adapter = found[1]
            original = Outbound.from_json(json.loads(row.message))
            message = degrade(original, adapter.capabilities)
            try:
                await adapter.send(row.chat, message)
            except SendFailed as exc:
                attempts = row.attempts + 1
                self.store.note(row.channel, row.account, error=exc.reason)
                if exc.permanent or attempts >= MAX_ATTEMPTS:
                    log.warning("%s/%s: message dead-lettered: %s", row.channel, row.account, exc.reason)
                    self.store.dead(row.id, attempts, exc.reason)
                else:
                    wait = exc.retry_after if exc.retry_after is not None else _backoff(attempts)
                    self.store.retry_later(row.id, attempts, now + wait, exc.reason)
                continue
            self._last_sent[key] = now
            recent.append(now)
            self.store.sent(row.id)
            if original.buttons:  # shown as a numbered list: remember them, to read "2" as the second
                listed = [b.to_json() for b in original.buttons] if not message.buttons else []
                self.store.offer(row.conversation_id, listed)
            sent += 1
            await self._make_way(time.perf_counter() - started)
        return sent

    async def _loop(self) -> None:
        swept = False
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll)
            self._wake.clear()
            try:
                if not self._working():
                    continue  # another worker process does the work; this one takes over if it stops
                if not swept:
                    for cid in self.store.sweep():  # turns saved just before a crash, never queued
                        self.store.enqueue_turns(cid)
                    swept = True
                handled = await self.handle_inbox()
                if await self.deliver() or handled:
                    self._wake.set()  # there may be more: look again at once, not after the poll
            except Exception:
                log.exception("channel worker round failed")


class GroupCommit:
    """Webhook events that arrive together are stored in one transaction.

    A request adds its events and waits; the first one schedules a write for the event loop's
    next round, so every request that reached this point in the meantime shares the commit (its
    cost is most of a webhook's). Under light load a write holds one request's events, as before.
    If the write fails, every request in it fails (and the platforms deliver them again)."""

    def __init__(self, write: Callable[[list[Any]], list[bool]]) -> None:
        self.write = write
        self._waiting: list[tuple[list[Any], asyncio.Future[list[bool]]]] = []

    async def add(self, items: list[Any]) -> list[bool]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[bool]] = loop.create_future()
        self._waiting.append((items, future))
        if len(self._waiting) == 1:
            loop.call_soon(self._flush)
        return await future

    def _flush(self) -> None:
        batch, self._waiting = self._waiting, []
        try:
            results = self.write([item for items, _ in batch for item in items])
        except Exception as exc:  # noqa: BLE001 - handed to each waiting request
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        at = 0
        for items, future in batch:
            if not future.done():
                future.set_result(results[at : at + len(items)])
            at += len(items)


_sleep = asyncio.sleep  # the worker's pauses (the tests watch them)


def _same_connection(old: Deployment, new: Deployment) -> bool:
    return old.credentials == new.credentials and old.api_base == new.api_base


def _backoff(attempts: int) -> float:
    """Exponential with full jitter: about 1, 2, 4 … seconds, at most a minute."""
    low, high = BACKOFF
    return random.uniform(low / 2, min(high, low * 2 ** (attempts - 1)))


def _button(data: dict[str, str]) -> Button:
    return Button(data["title"], data.get("value", ""))
