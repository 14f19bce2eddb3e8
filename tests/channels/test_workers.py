"""Many workers on one database: each chat's events handled once and in order, each chat's
messages delivered in order, retries included; a worker that dies mid-turn or mid-delivery has its
chats taken over by another (on PostgreSQL its claims go with its connection), and a message the
dead worker may have handed to the platform is sent again and counted, never lost.

Each worker here is what a `chatloom worker` process holds (its own runtime, store and PostgreSQL
connections); "dying" closes its claims connection without a word and stops its tasks, as kill -9
does to a process. The real processes are killed in tests/test_bench_scale_smoke.py."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from flows.document import parse_flow
from nodes.api import Outbound
from nodes.registry import Registry
from runtime.channels.base import Adapter
from runtime.channels.secretbox import SecretBox
from runtime.channels.service import Channels
from runtime.channels.store import OUTBOX, ChannelStore
from runtime.engine import Runtime
from runtime.store import TURN
from tests.channels.conftest import SECRET, TOKEN, Rig, text_update

ECHO = {
    "schema_version": 1,
    "id": "echo",
    "name": "Echo",
    "start": "start",
    "nodes": [
        {"id": "start", "type": "flow.start"},
        {"id": "ask", "type": "input.text", "settings": {"prompt": "Go on", "save_as": "said"}},
        {"id": "echo", "type": "message.send", "settings": {"text": "got {{ said }}"}},
    ],
    "edges": [
        {"id": "e1", "source": "start", "target": "ask"},
        {"id": "e2", "source": "ask", "source_port": "valid", "target": "echo"},
        {"id": "e3", "source": "ask", "source_port": "invalid", "target": "ask"},
        {"id": "e4", "source": "echo", "target": "ask"},
    ],
}


@pytest.fixture
async def echo(rig: Rig, builtins: Registry) -> AsyncIterator[Rig]:
    flow = parse_flow(json.dumps(ECHO))
    rig.runtime.flows.save_draft(flow)
    rig.runtime.flows.publish(flow.id, builtins)
    creds = {"token": TOKEN, "secret_token": SECRET}
    rig.store.deploy("telegram", "echo", "echo", 1, creds, api_base=rig.fake.url)
    yield rig


async def _worker(engine: Engine, builtins: Registry, box: SecretBox) -> Channels:
    """A worker as its own process would have it: its runtime, its store, its claims."""
    channels = Channels(Runtime(engine, builtins), ChannelStore(engine, box), pace={}, poll=0.05)
    for crew in (channels.chats, channels.conversations):
        crew.poll = 0.05
    await channels.start()
    return channels


async def _die(channels: Channels) -> None:
    """As kill -9: the claims connection closes without a word; nothing is given back or finished."""
    locks = getattr(channels.claims, "_locks", None)
    if locks is not None:
        channels.claims._locks = None  # type: ignore[attr-defined]
        await locks.close()
    listener = getattr(channels.claims, "_listener", None)
    for task in [*channels._tasks, *channels.chats.running.values(), *channels.conversations.running.values()]:
        task.cancel()
    if listener is not None:
        listener.cancel()
    await asyncio.sleep(0)


def _got(rig: Rig, chat: int) -> list[str]:
    return [m["text"] for m in rig.fake.sent if int(m["chat_id"]) == chat and m["text"].startswith("got ")]


async def _until(check: Any, seconds: float = 30.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("timed out")


def _count(engine: Engine, query: Any) -> int:
    with engine.connect() as c:
        return int(c.execute(query).scalar_one())


def _post(rig: Rig, update_id: int, text: str, chat: int) -> Any:
    return rig.post(text_update(update_id, text, chat=chat), account="echo")


async def test_two_workers_racing_for_one_chat_answer_each_message_once_in_order(
    echo: Rig, engine: Engine, builtins: Registry, box: SecretBox
) -> None:
    rig = echo
    workers = [await _worker(engine, builtins, box) for _ in range(2)]
    try:
        chats = [9100 + n for n in range(4)]
        for n, chat in enumerate(chats):
            await _post(rig, 1000 + n, "/start", chat)
        update = 2000
        for k in range(12):  # the busy chat gets messages as fast as they can be posted, the others some
            for chat in chats if k % 3 == 0 else chats[:1]:
                update += 1
                await _post(rig, update, f"m{k}", chat)
        expected = {chat: [f"got m{k}" for k in range(12) if chat == chats[0] or k % 3 == 0] for chat in chats}
        await _until(lambda: all(len(_got(rig, c)) >= len(expected[c]) for c in chats))
        await asyncio.sleep(0.3)  # a second handling or sending would show by now
        for chat in chats:
            assert _got(rig, chat) == expected[chat]
        events = update - 2000 + len(chats)  # each a turn keyed by its event (the /start ones begin the conversations)
        assert _count(engine, select(func.count()).where(TURN.c.event_id.is_not(None))) == events
        assert sum(w.chats.done for w in workers) == events  # no event handled twice
        assert _count(engine, select(func.count()).select_from(OUTBOX)) == 0
    finally:
        for w in workers:
            await w.stop()


async def test_a_chats_messages_stay_in_order_across_retries(echo: Rig) -> None:
    rig = echo
    await _post(rig, 1, "/start", 9200)
    for k in range(3):
        await _post(rig, 10 + k, f"m{k}", 9200)
    await rig.channels.handle_inbox()
    rig.fake.fail_next(500, "Internal Server Error")
    rig.fake.fail_next(502, "Bad Gateway")
    assert await rig.channels.deliver() == 0  # the first message fails: the rest wait behind it
    rig.clock.now += 120
    assert await rig.channels.deliver() == 0  # fails again
    assert rig.fake.sent == []
    rig.clock.now += 300
    await rig.channels.deliver()
    assert rig.fake.texts() == ["Go on", "got m0", "Go on", "got m1", "Go on", "got m2", "Go on"]


async def test_a_worker_killed_mid_turn_has_the_chat_taken_over(
    echo: Rig, engine: Engine, builtins: Registry, box: SecretBox
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("several workers share the work on PostgreSQL; SQLite has one worker")
    rig = echo
    doomed = await _worker(engine, builtins, box)
    stuck = asyncio.Event()

    async def hang(*_: Any) -> None:  # the turn never gets saved: the worker dies in the middle
        stuck.set()
        await asyncio.Event().wait()

    found = doomed.adapter("telegram", "echo")
    assert found is not None
    found[1].acknowledge = hang  # type: ignore[method-assign]
    await _post(rig, 1, "/start", 9300)
    await asyncio.wait_for(stuck.wait(), 30)
    await _die(doomed)
    survivor = await _worker(engine, builtins, box)
    try:
        await _post(rig, 2, "m0", 9300)
        await _until(lambda: len(_got(rig, 9300)) >= 1)
        await asyncio.sleep(0.3)
        assert rig.fake.texts() == ["Go on", "got m0", "Go on"]
        assert _count(engine, select(func.count()).where(TURN.c.event_id.is_not(None))) == 2  # /start and m0, once each
    finally:
        await survivor.stop()


async def test_a_worker_killed_mid_delivery_has_the_message_sent_again_and_counted(
    echo: Rig, engine: Engine, builtins: Registry, box: SecretBox
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("several workers share the work on PostgreSQL; SQLite has one worker")
    rig = echo
    doomed = await _worker(engine, builtins, box)
    accepted = asyncio.Event()
    found = doomed.adapter("telegram", "echo")
    assert found is not None
    adapter: Adapter = found[1]
    real_send = adapter.send

    async def send_then_die(chat: str, message: Outbound) -> None:
        await real_send(chat, message)  # the platform accepted it …
        accepted.set()
        await asyncio.Event().wait()  # … and the worker died before it could say so

    adapter.send = send_then_die  # type: ignore[method-assign]
    await _post(rig, 1, "/start", 9400)
    await asyncio.wait_for(accepted.wait(), 30)
    await _die(doomed)
    survivor = await _worker(engine, builtins, box)
    try:
        await _until(lambda: len(rig.fake.sent) >= 2)
        await asyncio.sleep(0.3)
        assert rig.fake.texts() == ["Go on", "Go on"]  # sent again: the platforms take no idempotency key
        assert survivor.outbox.resent == 1 and survivor.health()["resent"] == 1
        assert _count(engine, select(func.count()).select_from(OUTBOX)) == 0
    finally:
        await survivor.stop()
