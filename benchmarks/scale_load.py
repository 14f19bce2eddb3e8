"""The people of bench_scale: chats that post Telegram updates to the webhooks and wait for the
answers at a fake Telegram, and the ledger of what was sent and what came back.

A closed-loop chat behaves like a person: it sends its next message once the answer to the previous
one has arrived and at least GAP seconds after it (the worker paces a chat's replies a second
apart). An open-loop chat sends at fixed times, whatever came back. Each message is one real
Telegram update with its own `update_id`; a request that fails is sent again with the same update,
as Telegram does.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

GAP = 1.05  # seconds a person waits after an answer before the next message (pace: 1 s)
IN_FLIGHT = 64  # webhook requests in flight at once (Telegram opens at most 40 by default, 100 at most)
RETRY_AFTER = 0.5  # seconds before a failed webhook request is sent again
FIRST = "got start"  # the flow's answer to a chat's first message (which starts the conversation)


def reply_to(k: int) -> str:
    """What the echo flow answers to a chat's k-th message."""
    return FIRST if k == 1 else f"got m{k}"


@dataclass(eq=False)
class Message:
    """One inbound message: the k-th of its chat."""

    chat: int
    k: int
    update_id: int
    sent_at: float | None = None  # the first attempt
    acked_at: float | None = None  # a webhook answered 200
    answered_at: float | None = None  # the fake accepted its reply (the first copy)
    answered: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass
class Arrival:
    chat: int
    text: str
    at: float


class Ledger:
    """Every message sent and every reply the fake accepted, in the load generator's event loop."""

    def __init__(self) -> None:
        self.messages: dict[tuple[int, int], Message] = {}
        self.arrivals: list[Arrival] = []
        self.last_reply: dict[int, float] = {}
        self.last_progress = time.time()
        self.answered = 0
        self.hook_retries = 0
        self.hook_times: list[float] = []  # seconds from a webhook request to its 200
        self.refused: list[str] = []  # webhook answers that were neither 200 nor worth a retry

    def add(self, message: Message) -> None:
        self.messages[(message.chat, message.k)] = message

    def on_sent(self, record: dict[str, Any]) -> None:
        """The fake accepted a sendMessage: note its arrival, and answer the message it replies to."""
        now = time.time()
        chat, text = int(record["chat_id"]), str(record.get("text", ""))
        self.arrivals.append(Arrival(chat, text, now))
        self.last_reply[chat] = now
        k = 1 if text == FIRST else int(text[5:]) if text.startswith("got m") and text[5:].isdigit() else 0
        message = self.messages.get((chat, k))
        if message is not None and message.answered_at is None and message.sent_at is not None:
            message.answered_at = now
            message.answered.set()
            self.answered += 1
            self.last_progress = now

    def outstanding(self) -> list[Message]:
        """Messages sent and not answered yet."""
        return [m for m in self.messages.values() if m.sent_at is not None and m.answered_at is None]

    def posted(self) -> list[Message]:
        return [m for m in self.messages.values() if m.acked_at is not None]


class Load:
    """Posts the chats' messages round-robin over the webhook addresses."""

    def __init__(self, ledger: Ledger, urls: list[str], secret: str, deadline: float) -> None:
        from tests.channels.conftest import text_update  # the update the channel tests send

        self.ledger, self.deadline, self.update = ledger, deadline, text_update
        self.urls = itertools.cycle(urls)
        self.headers = {"content-type": "application/json", "x-telegram-bot-api-secret-token": secret}
        self.gate = asyncio.Semaphore(IN_FLIGHT)
        self.client = httpx.AsyncClient(
            limits=httpx.Limits(max_connections=IN_FLIGHT * 2, max_keepalive_connections=IN_FLIGHT * 2),
            timeout=httpx.Timeout(30.0),
        )

    async def close(self) -> None:
        await self.client.aclose()

    async def post(self, m: Message) -> bool:
        """Post the message until a webhook takes it (False: refused, or out of time)."""
        body = json.dumps(self.update(m.update_id, f"m{m.k}", chat=m.chat)).encode()
        if m.sent_at is None:
            m.sent_at = time.time()  # the person pressed send: a wait for a free connection counts
        while time.time() < self.deadline:
            async with self.gate:
                asked = time.time()
                try:
                    answer = await self.client.post(next(self.urls), content=body, headers=self.headers)
                except httpx.TransportError:
                    answer = None
            if answer is not None and answer.status_code == 200:
                m.acked_at = time.time()
                self.ledger.hook_times.append(m.acked_at - asked)
                return True
            if answer is not None and answer.status_code < 500 and answer.status_code != 429:
                self.ledger.refused.append(f"update {m.update_id}: {answer.status_code} {answer.text[:200]}")
                return False
            self.ledger.hook_retries += 1
            await asyncio.sleep(RETRY_AFTER)
        return False

    async def closed_chat(self, messages: list[Message], start_at: float = 0.0) -> None:
        """A person who comes at `start_at`: each message once the previous one is answered, and GAP
        seconds after its answer."""
        await asyncio.sleep(max(0.0, start_at - time.time()))
        for n, m in enumerate(messages):
            if n:
                await messages[n - 1].answered.wait()
                last = self.ledger.last_reply.get(m.chat, 0.0)
                await asyncio.sleep(max(0.0, last + GAP - time.time()))
            if not await self.post(m):
                return

    async def open_chat(self, messages: list[Message], times: list[float]) -> None:
        """Each message at its time (once the previous one was taken), answered or not."""
        for m, at in zip(messages, times, strict=True):
            await asyncio.sleep(max(0.0, at - time.time()))
            if not await self.post(m):
                return
        for m in messages:
            await m.answered.wait()
