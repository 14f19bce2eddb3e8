"""The outbox: what turns said, delivered by the worker holding the conversation's claim, in order,
paced per chat, within each account's rate, retried with backoff, dead-lettered when hopeless.

Rows are written by the turn's own transaction (`ChannelStore.outbox_writer`), so a saved turn's
messages are always queued and nothing else is. A row is marked `sending` before it is handed to
the platform and deleted once the platform accepted it. A worker that dies between those two (one
HTTP call wide) leaves the row marked: the worker that takes the conversation over sends it again
(the platforms take no idempotency key), logs it and counts it in `resent`.
"""

from __future__ import annotations

import asyncio
import collections
import json
import logging
import random
from collections.abc import Callable

from nodes.api import Outbound
from runtime.channels.adapters import AdapterCache
from runtime.channels.base import IN_FLIGHT, SendFailed
from runtime.channels.degrade import degrade
from runtime.channels.store import ChannelStore
from runtime.engine import Runtime

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 8  # then a message goes to the dead letters
BACKOFF = (1.0, 60.0)  # first retry after about a second, never more than a minute apart


class Outbox:
    def __init__(
        self,
        runtime: Runtime,
        store: ChannelStore,
        adapters: AdapterCache,
        *,
        pace: dict[str, float],
        rate: dict[str, int],
        clock: Callable[[], float],
    ) -> None:
        self.runtime, self.store, self.adapters = runtime, store, adapters
        self.pace, self.rate, self.clock = pace, rate, clock
        self.resent = 0  # messages sent again after a worker stopped mid-delivery
        self._recent: dict[tuple[str, str], collections.deque[float]] = {}  # send times in the last second
        self._held: dict[str, float] = {}  # conversations waiting for their account's rate, until
        # an HTTP client's pool does work for every waiting request each time one ends: many waiting
        # requests cost more than the sending itself, and more connections send no faster
        self._in_flight: dict[tuple[str, str], asyncio.Semaphore] = {}

    def held(self) -> frozenset[str]:
        """Conversations this process leaves alone for now (their account's rate is used up)."""
        now = self.clock()
        for cid in [c for c, until in self._held.items() if until <= now]:
            del self._held[cid]
        return frozenset(self._held)

    async def deliver_conversation(self, cid: str) -> int:
        """Send the conversation's due messages in order (one, where the channel is paced); how many."""
        io, store = self.runtime.io, self.store
        sent = 0
        while True:
            now = self.clock()
            row = await io(store.take_next, cid, now)
            if row is None:  # nothing waits, or the first waits for its time
                return sent
            recent = self._recent.setdefault((row.channel, row.account), collections.deque())
            while recent and recent[0] <= now - 1.0:
                recent.popleft()
            if len(recent) >= self.rate.get(row.channel, 1_000_000):
                self._held[cid] = recent[0] + 1.0  # the account's rate is used up for this second
                if not row.was_sending:
                    await io(store.not_sending, row.id)
                return sent
            found = await self.adapters.aget(row.channel, row.account, io)
            if found is None:
                await io(store.dead, row.id, row.attempts, "The channel is no longer deployed.")
                continue
            adapter = found[1]
            if row.was_sending:
                self.resent += 1
                log.warning(
                    "%s/%s: sending a message again that a stopped worker may have sent (conversation %s)",
                    row.channel,
                    row.account,
                    cid,
                )
            original = Outbound.from_json(json.loads(row.message))
            message = degrade(original, adapter.capabilities)
            gate = self._in_flight.get((row.channel, row.account))
            if gate is None:
                gate = self._in_flight[(row.channel, row.account)] = asyncio.Semaphore(IN_FLIGHT)
            try:
                async with gate:
                    await adapter.send(row.chat, message)
            except SendFailed as exc:
                attempts = row.attempts + 1
                await io(store.note, row.channel, row.account, error=exc.reason)
                if exc.permanent or attempts >= MAX_ATTEMPTS:
                    log.warning("%s/%s: message dead-lettered: %s", row.channel, row.account, exc.reason)
                    await io(store.dead, row.id, attempts, exc.reason)
                    continue
                wait = exc.retry_after if exc.retry_after is not None else _backoff(attempts)
                await io(store.retry_later, row.id, attempts, now + wait, exc.reason, cid)
                return sent
            recent.append(now)
            gap = self.pace.get(row.channel, 0.0)
            await io(store.sent, row.id, cid, now + gap if gap else 0.0)
            if original.buttons:  # shown as a numbered list: remember them, to read "2" as the second
                listed = [b.to_json() for b in original.buttons] if not message.buttons else []
                await io(store.offer, row.conversation_id, listed)
            sent += 1
            if gap:
                return sent  # the next one when the pace allows


def _backoff(attempts: int) -> float:
    """Exponential with full jitter: about 1, 2, 4 … seconds, at most a minute."""
    low, high = BACKOFF
    return random.uniform(low / 2, min(high, low * 2 ** (attempts - 1)))
