"""A runtime with channels on a fresh database, and a fake Telegram the real python-telegram-bot talks to."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
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


@asynccontextmanager
async def served(
    engine: Engine, builtins: Registry, box: SecretBox, deployments: list[tuple[str, str, str, dict[str, Any], str]]
) -> AsyncIterator[tuple[Runtime, Channels, httpx.AsyncClient, Clock]]:
    """The greeter and FAQ flows published, these (channel, account, flow, credentials, api) deployed,
    channels unpaced on a test clock, and an HTTP client on the app; all stopped after."""
    runtime = Runtime(engine, builtins)
    for flow in (parse_flow(json.dumps(GREETER)), parse_flow((TEMPLATES / "faq_menu.json").read_bytes())):
        if not runtime.flows.exists(flow.id):
            runtime.flows.save_draft(flow)
            runtime.flows.publish(flow.id, builtins)
    store = ChannelStore(engine, box)
    for channel, account, flow_id, credentials, api_base in deployments:
        if store.deployment(channel, account) is None:
            store.deploy(channel, account, flow_id, 1, credentials, api_base=api_base)
    clock = Clock()
    channels = Channels(runtime, store, pace={}, clock=clock)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(create_app(runtime, channels)), base_url="http://t"
    ) as c:
        try:
            yield runtime, channels, c, clock
        finally:
            await channels.stop()
            await runtime.shutdown()


async def make_rig(engine: Engine, builtins: Registry, fake: FakeTelegram, box: SecretBox) -> AsyncIterator[Rig]:
    creds = {"token": TOKEN, "secret_token": SECRET}
    deployments = [("telegram", "mybot", "greeter", creds, fake.url), ("telegram", "menu", "faq-menu", creds, fake.url)]
    async with served(engine, builtins, box, deployments) as (runtime, channels, client, clock):
        yield Rig(runtime, channels.store, channels, client, fake, clock)


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
