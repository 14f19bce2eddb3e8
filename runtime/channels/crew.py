"""The loop a worker runs for each queue (the inbox's chats, the outbox's conversations): look for
waiting work, claim what nobody else holds, and work on each claimed item in a task of its own.

Bounded: at most `slots` items at once per worker; what is not claimed waits in the database
(back-pressure, not a queue in memory). Woken when work is stored (NOTIFY, or this process's own
turns), else looks every `poll` seconds; a claim given back wakes it too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

from runtime.channels.claims import Claims, ClaimsLost, transient

log = logging.getLogger(__name__)
T = TypeVar("T", bound=Hashable)
EXTRA = 32  # a scan also returns this many items others may hold, so it still finds free ones


class Crew(Generic[T]):
    def __init__(
        self,
        name: str,
        *,
        scan: Callable[[int, frozenset[T]], Awaitable[list[T]]],
        key: Callable[[T], int],
        work: Callable[[T], Awaitable[int]],
        claims: Callable[[], Claims],
        slots: int,
        poll: float,
    ) -> None:
        self.name, self.scan, self.key, self.work, self.claims = name, scan, key, work, claims
        self.slots, self.poll = slots, poll
        self.wake = asyncio.Event()
        self.running: dict[T, asyncio.Task[None]] = {}
        self.done = 0  # items of work finished (events handled, messages sent) by this process
        self._away = False  # the database did not answer the last round

    async def run(self, lost: Callable[[], Awaitable[None]]) -> None:
        while True:
            # not asyncio.wait_for: in Python 3.11 it loses a cancellation that comes as the event is
            # set, and the worker would never stop
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.poll):
                    await self.wake.wait()
            self.wake.clear()
            try:
                await self.round()
            except ClaimsLost:
                await lost()
            except Exception as exc:
                if not transient(exc):
                    log.exception("%s: a round failed", self.name)
                elif not self._away:  # once, not every poll while the database is away
                    log.warning("%s: the database does not answer (%s); trying again", self.name, type(exc).__name__)
                self._away = transient(exc)
            else:
                self._away = False

    async def round(self) -> int:
        """Claim what is waiting and start working on it; how many items were claimed."""
        free = self.slots - len(self.running)
        if free <= 0:
            return 0
        found = await self.scan(free + EXTRA, frozenset(self.running))
        if not found:
            return 0
        keys = {self.key(item): item for item in found}
        mine = await self.claims().take(list(keys)[: free + EXTRA])
        started = 0
        for key, item in keys.items():
            if key in mine and started < free:
                self.running[item] = asyncio.create_task(self._one(item, key), name=f"{self.name}:{item}")
                started += 1
            elif key in mine:
                await self.claims().give([key])
        return started

    async def _one(self, item: T, key: int) -> None:
        try:
            done = await self.work(item)  # not `self.done += await …`: that reads self.done before waiting
            self.done += done
        except ClaimsLost:
            self.wake.set()
        except Exception as exc:
            if transient(exc):
                log.warning("%s: work on %s stopped, the database does not answer: %s", self.name, item, exc)
            else:
                log.exception("%s: work on %s failed", self.name, item)
        finally:
            self.running.pop(item, None)
            with contextlib.suppress(ClaimsLost):
                await self.claims().give([key])
            self.wake.set()

    async def stop(self) -> None:
        """Stop the work in progress (a claim lost, or the worker stopping); the claims go with it."""
        tasks = list(self.running.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self.running.clear()

    async def drain(self) -> int:
        """Everything that is waiting now, one item after another (tests, and `deliver()`)."""
        total = 0
        while True:
            found = await self.scan(100, frozenset())
            if not found:
                return total
            keys = {self.key(item): item for item in found}
            mine = await self.claims().take(list(keys))
            done = 0
            for key, item in keys.items():
                if key not in mine:
                    continue
                try:
                    done += await self.work(item)
                finally:
                    await self.claims().give([key])
            total += done
            if not done:
                return total
