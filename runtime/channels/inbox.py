"""The inbox: webhook events in (verified, stored once, acknowledged), then handled by a worker
that holds the chat's claim, one event after another in the order they came, each a turn of the
chat's conversation (whose replies the turn's own transaction puts in the outbox).

An event handled twice (a worker killed after the turn was saved, before the event was marked
done) is recognised by the turn's unique inbound key and changes nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from nodes.api import Button, Inbound, Outbound
from runtime.channels.adapters import AdapterCache
from runtime.channels.base import ChannelEvent, Rejected
from runtime.channels.claims import transient
from runtime.channels.degrade import read_answer
from runtime.channels.store import ChannelStore
from runtime.engine import ConversationExists, ConversationNotFound, Runtime
from runtime.store import Also

log = logging.getLogger(__name__)
NOTE_EVERY = 5.0  # seconds between writes of a channel's "last event received"
WEBHOOK_SHARE = 3.0  # while webhooks wait, the worker takes about a quarter of this process's time
MAX_BACKLOG = 50_000  # events waiting to be handled before webhooks are answered 503 (the platform retries)
BACKLOG_EVERY = 2.0  # seconds between counts of the backlog
UNUSABLE = "Sorry, I can only read text and the buttons here."
HEARS_AUDIO = {"speech.to_text"}  # node types that take a voice note as the first message


class Inbox:
    def __init__(
        self,
        runtime: Runtime,
        store: ChannelStore,
        adapters: AdapterCache,
        *,
        clock: Callable[[], float],
        woken: Callable[[], None],
    ) -> None:
        self.runtime, self.store, self.adapters, self.clock, self.woken = runtime, store, adapters, clock, woken
        self._group = GroupCommit(store.receive_many, runtime.io)
        self.waiting = 0  # webhook requests waiting for their events to be stored
        self.backlog = 0  # events not handled yet, as last counted (see watch_backlog)
        self._noted: dict[tuple[str, str], float] = {}

    # in

    async def receive(
        self, channel: str, account: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, Any] | None]:
        """A webhook request: verified first, then stored. The number of new events, and the answer
        to a set-up handshake if it was one. Raises Rejected."""
        found = await self.adapters.aget(channel, account, self.runtime.io)
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
            _background(self.runtime.io(self.store.note, channel, account, event=True))
        if deployment.paused or not events:
            return 0, None
        if self.full:  # the workers are far behind: the platform sends it again later
            raise Rejected(503, "Too many messages are waiting to be answered; this one will be sent again.")
        key = self.store.ids.key
        records = [
            (channel, account, event.event_id, key("in", channel, account, event.chat), event.to_json())
            for event in events
        ]
        self.waiting += 1
        try:
            fresh = sum(await self._group.add(records))
        finally:
            self.waiting -= 1
        if fresh:
            self.woken()
        return fresh, None

    @property
    def full(self) -> bool:
        """Whether so many events wait that webhooks are refused (back-pressure)."""
        return self.backlog >= MAX_BACKLOG

    async def watch_backlog(self) -> None:
        """Count the waiting events every few seconds (the webhooks refuse more above MAX_BACKLOG)."""
        while True:
            with contextlib.suppress(Exception):  # the database away: keep the last count
                self.backlog = await self.runtime.io(self.store.backlog)
            await asyncio.sleep(BACKLOG_EVERY)

    # handling, by the worker holding the chat's claim

    async def handle_chat(self, key: int) -> int:
        """Handle one chat's waiting events in order; how many."""
        handled = 0
        while True:
            rows = await self.runtime.io(self.store.events_of, key)
            if not rows:
                return handled
            done: list[int] = []
            for row in rows:
                started = time.perf_counter()
                finished: list[int] = []  # marked handled by the turn's own transaction
                try:
                    await self._handle(json.loads(row.event), self._finisher(row.id, finished))
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # one bad event must not stop the others
                    if transient(exc):  # the database is away: the event stays waiting, handled once it is back
                        raise
                    log.exception("channel event %s/%s %s failed", row.channel, row.account, row.event_id)
                    reason = f"An event could not be handled: {type(exc).__name__}"
                    await self.runtime.io(self.store.note, row.channel, row.account, error=reason)
                    await self.runtime.io(self.store.finish_events, [row.id], type(exc).__name__)
                else:
                    if not finished:  # no turn answered it (answered before, or outside the flow)
                        done.append(row.id)
                handled += 1
                await self.make_way(time.perf_counter() - started)
            await self.runtime.io(self.store.finish_events, done)

    def _finisher(self, row_id: int, finished: list[int]) -> Also:
        """What the turn that answers an event writes in its transaction: the event is handled
        (a crash can then not leave it saved and waiting)."""

        def finish(conn: Any) -> None:
            self.store.finish_in(conn, row_id)
            finished.append(row_id)

        return finish

    async def _handle(self, record: dict[str, Any], also: Also | None = None) -> None:
        found = await self.adapters.aget(record["channel"], record["account"], self.runtime.io)
        if found is None:
            return  # undeployed since
        deployment, adapter = found
        event = ChannelEvent.from_json(record)
        io, store = self.runtime.io, self.store
        cid, known = await io(store.chat_for, event.channel, event.account, event.chat)
        if known is None:
            await io(store.bind_chat, cid, event.channel, event.account, event.chat)
        await adapter.acknowledge(event)
        if known is not None:
            inbound = event.inbound()
            if event.kind == "other":
                await io(store.enqueue_message, cid, event, Outbound(text=UNUSABLE))  # a reply outside the flow
                self.woken()
                return
            if event.kind == "audio" and await self._started_by(cid, event):  # handled again after a crash
                await self._heard(cid, event, deployment.version, also)
                return
            if event.choice is None and known.offered:
                choice = read_answer(event.text, [_button(b) for b in json.loads(known.offered)])
                if choice is not None:
                    inbound = Inbound(text=event.text, choice=choice, media=inbound.media, event_id=inbound.event_id)
            with contextlib.suppress(ConversationNotFound):  # not: the chat was bound, then a worker died
                # an ended conversation starts again on the deployed version
                await self.runtime.send(cid, inbound, restart_on=deployment.version, also=also)
                return
        with contextlib.suppress(ConversationExists):  # started before a crash: its replies are queued
            await self.runtime.start(
                deployment.flow_id,
                version=deployment.version,
                user_id=event.user,
                channel=event.channel,
                account=event.account,
                conversation_id=cid,
                inbound=event.inbound(),  # the same event handled again is then known as this start
                also=None if event.kind == "audio" else also,  # a voice note may be an answer too: see _heard
            )
        if event.kind == "audio":
            await self._heard(cid, event, deployment.version, also)

    async def _started_by(self, cid: str, event: ChannelEvent) -> bool:
        """Whether this event started the conversation (its first turn)."""
        io, store = self.runtime.io, self.runtime.store
        return await io(store.turn_of_event, cid, event.channel, event.account, event.event_id) == 1

    async def _heard(self, cid: str, event: ChannelEvent, version: int, also: Also | None) -> None:
        """A voice note that started a conversation is also the answer to its first step if that
        step listens to voice notes: a turn of its own, with an event id of its own (once, too)."""
        if await self._hears_audio(cid):
            heard = dataclasses.replace(event.inbound(), event_id=f"{event.event_id}:heard")
            await self.runtime.send(cid, heard, restart_on=version, also=also)

    async def _hears_audio(self, cid: str) -> bool:
        """Whether a new conversation waits at a step that listens to voice notes (a voice note
        that starts a conversation is then its answer, not only a hello)."""
        state = await self.runtime.io(self.runtime.store.load, cid)
        if state is None or not state.node:
            return False
        plan = await self.runtime.plan(state.at_flow or state.flow_id, state.at_version or state.version)
        node = plan.nodes.get(state.node)
        return node is not None and node.type.type in HEARS_AUDIO

    async def make_way(self, spent: float) -> None:
        """Between two pieces of the worker's work: acknowledging webhooks comes first. While
        requests wait, they get WEBHOOK_SHARE times the time the last piece took (the worker keeps
        a fair share under any load: the events are safe in the inbox, while a late
        acknowledgement makes the platform send again); otherwise carry on at once."""
        await _sleep(min(spent * WEBHOOK_SHARE, 0.1) if self.waiting else 0)


class GroupCommit:
    """Webhook events that arrive together are stored in one transaction.

    A request adds its events and waits; the first one schedules a write for the event loop's
    next round, so every request that reached this point in the meantime shares the commit (its
    cost is most of a webhook's). One write is in flight at a time: the requests that come while
    it runs share the next one. If a write fails, every request in it fails (and the platforms
    deliver them again)."""

    def __init__(
        self,
        write: Callable[[list[Any]], list[bool]],
        io: Callable[..., Awaitable[list[bool]]] | None = None,
    ) -> None:
        self.write, self.io = write, io
        self._waiting: list[tuple[list[Any], asyncio.Future[list[bool]]]] = []
        self._busy = False

    async def add(self, items: list[Any]) -> list[bool]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[bool]] = loop.create_future()
        self._waiting.append((items, future))
        if not self._busy:
            self._busy = True
            loop.call_soon(lambda: _background(self._drain()))
        return await future

    async def _drain(self) -> None:
        try:
            while self._waiting:
                batch, self._waiting = self._waiting, []
                flat = [item for items, _ in batch for item in items]
                try:
                    results = await self.io(self.write, flat) if self.io is not None else self.write(flat)
                except Exception as exc:  # noqa: BLE001 - handed to each waiting request
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                at = 0
                for items, future in batch:
                    if not future.done():
                        future.set_result(results[at : at + len(items)])
                    at += len(items)
        finally:
            self._busy = False


_tasks: set[asyncio.Future[Any]] = set()


def _background(work: Awaitable[Any]) -> None:
    """Run without waiting for it (kept referenced until done; a failure is logged, not raised)."""
    task = asyncio.ensure_future(work)
    _tasks.add(task)
    task.add_done_callback(_finished)


def _finished(task: asyncio.Future[Any]) -> None:
    _tasks.discard(task)
    if not task.cancelled() and task.exception() is not None:
        log.warning("a background write failed: %s", task.exception())


_sleep = asyncio.sleep  # the worker's pauses (the tests watch them)


def _button(data: dict[str, str]) -> Button:
    return Button(data["title"], data.get("value", ""))
