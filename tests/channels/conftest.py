"""A runtime with channels on a fresh database, and a fake Telegram the real python-telegram-bot talks to."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet
from sqlalchemy.engine import Engine

from builder.context import TEMPLATES
from flows.document import parse_flow
from nodes.registry import Registry
from runtime.api import create_app
from runtime.channels.secretbox import SecretBox
from runtime.channels.service import Channels
from runtime.channels.store import ChannelStore
from runtime.engine import Runtime
from tests.fakes.telegram import FakeTelegram, running

TOKEN = "123456:AAH-fake-token-for-tests"
SECRET = "s3cret-token_for-webhooks"
GREETER = {
    "schema_version": 1,
    "id": "greeter",
    "name": "Greeter",
    "start": "start",
    "nodes": [
        {"id": "start", "type": "flow.start"},
        {"id": "ask", "type": "input.text", "settings": {"prompt": "What is your name?", "save_as": "name"}},
        {"id": "hello", "type": "message.send", "settings": {"text": "Nice to meet you, {{ name }}!"}},
        {"id": "bye", "type": "flow.end"},
    ],
    "edges": [
        {"id": "e1", "source": "start", "target": "ask"},
        {"id": "e2", "source": "ask", "source_port": "valid", "target": "hello"},
        {"id": "e3", "source": "ask", "source_port": "invalid", "target": "bye"},
        {"id": "e4", "source": "hello", "target": "bye"},
    ],
}


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Rig:
    runtime: Runtime
    store: ChannelStore
    channels: Channels
    client: httpx.AsyncClient
    fake: FakeTelegram
    clock: Clock

    async def post(
        self, update: dict[str, Any], *, secret: str | None = SECRET, account: str = "mybot"
    ) -> httpx.Response:
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
        return await self.client.post(f"/hooks/telegram/{account}", json=update, headers=headers)

    async def settle(self) -> None:
        """Handle what came in and send what is due, as the worker's next round would."""
        await self.channels.handle_inbox()
        await self.channels.deliver()


@pytest.fixture
def fake() -> Iterator[FakeTelegram]:
    with running(FakeTelegram(TOKEN)) as f:
        yield f


@pytest.fixture
def box() -> SecretBox:
    return SecretBox(Fernet.generate_key())


async def make_rig(engine: Engine, builtins: Registry, fake: FakeTelegram, box: SecretBox) -> AsyncIterator[Rig]:
    runtime = Runtime(engine, builtins)
    for flow in (parse_flow(__import__("json").dumps(GREETER)), parse_flow((TEMPLATES / "faq_menu.json").read_bytes())):
        if not runtime.flows.exists(flow.id):
            runtime.flows.save_draft(flow)
            runtime.flows.publish(flow.id, builtins)
    store = ChannelStore(engine, box)
    if store.deployment("telegram", "mybot") is None:
        store.deploy("telegram", "mybot", "greeter", 1, {"token": TOKEN, "secret_token": SECRET}, api_base=fake.url)
        store.deploy("telegram", "menu", "faq-menu", 1, {"token": TOKEN, "secret_token": SECRET}, api_base=fake.url)
    clock = Clock()
    channels = Channels(runtime, store, pace={"telegram": 0.0}, clock=clock)
    app = create_app(runtime, channels)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://test") as client:
        try:
            yield Rig(runtime, store, channels, client, fake, clock)
        finally:
            await channels.stop()
            await runtime.shutdown()


@pytest.fixture
async def rig(engine: Engine, builtins: Registry, fake: FakeTelegram, box: SecretBox) -> AsyncIterator[Rig]:
    async for r in make_rig(engine, builtins, fake, box):
        yield r


def text_update(update_id: int, text: str, chat: int = 777) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 1_700_000_000,
            "chat": {"id": chat, "type": "private"},
            "from": {"id": chat, "is_bot": False, "first_name": "Ada"},
            "text": text,
        },
    }


def button_update(update_id: int, data: str, chat: int = 777) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "callback_query": {
            "id": f"cq{update_id}",
            "from": {"id": chat, "is_bot": False, "first_name": "Ada"},
            "chat_instance": "1",
            "data": data,
            "message": {"message_id": 1, "date": 1_700_000_000, "chat": {"id": chat, "type": "private"}},
        },
    }
