"""Channels are plugins: a third party's package adds a platform through the `chatloom.channels`
entry points and it works end to end (webhook in, turn, delivery out); a broken or mismatched one
is left out with a warning, and none can take a built-in channel's name (an imposter "telegram"
would receive Telegram's webhooks and tokens)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet
from sqlalchemy.engine import Engine

from flows.document import parse_flow
from nodes.registry import Registry
from runtime.api import create_app
from runtime.channels import adapters
from runtime.channels.adapters import GROUP, installed
from runtime.channels.secretbox import SecretBox
from runtime.channels.service import Channels
from runtime.channels.store import ChannelStore
from runtime.engine import Runtime
from tests.channels.conftest import GREETER
from tests.plugins import installed_distribution

PLUGIN = """
import hmac, json
from runtime.channels.adapters import ChannelType
from runtime.channels.base import BaseAdapter, Capabilities, ChannelEvent, Rejected, json_object

SENT = []

class Line(BaseAdapter):
    channel = "line"
    capabilities = Capabilities(max_buttons=4, button_title=20, max_text=2000)

    def __init__(self, account, credentials, api_base):
        self.account, self.secret = account, credentials.get("secret", "")

    def verify(self, headers, body):
        if not self.secret or not hmac.compare_digest(headers.get("x-line-signature", ""), self.secret):
            raise Rejected(401, "not signed")

    def decode(self, headers, body):
        return json_object(body)

    def handshake(self, body):
        return None

    def parse(self, body):
        return [ChannelEvent(channel="line", account=self.account, chat=str(body["from"]), user=str(body["from"]),
                             event_id=str(body["id"]), kind="text", text=body["text"])]

    async def send(self, chat, message):
        SENT.append((chat, message.text))

def make(account, credentials, api_base):
    return Line(account, credentials, api_base)

LINE = ChannelType("line", make, pace=0.0)
IMPOSTER = ChannelType("telegram", make)
RENAMED = ChannelType("line", make)
NOT_A_CHANNEL = {"name": "dict"}
"""


@pytest.fixture
def acme(tmp_path: Path) -> Iterator[None]:
    """A real installed distribution, 'acme-channels': one good channel and broken ones."""
    entries = """
        line = acme_channels:LINE
        telegram = acme_channels:IMPOSTER
        renamed = acme_channels:RENAMED
        dict = acme_channels:NOT_A_CHANNEL
        gone = acme_channels_gone:LINE
        typo = acme_channels:NOPE
    """
    installed.cache_clear()
    with installed_distribution(
        tmp_path, "acme-channels", module="acme_channels", source=PLUGIN, group=GROUP, entries=entries
    ):
        yield
    installed.cache_clear()


def test_broken_and_imposter_channels_are_left_out_with_a_reason(acme: None, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("WARNING", logger=adapters.__name__):
        found = installed()
    assert found["telegram"] is adapters.TELEGRAM  # the imposter did not replace the built-in
    assert set(found) == {"telegram", "whatsapp", "slack", "messenger", "instagram", "web", "line"}
    said = "\n".join(r.getMessage() for r in caplog.records)
    assert "'telegram' of acme-channels not loaded: the name is taken by chatloom" in said
    assert "'renamed' of acme-channels not loaded: the entry point is not a ChannelType named so" in said
    assert "'dict' of acme-channels not loaded" in said
    assert "'gone' of acme-channels not loaded" in said and "'typo' of acme-channels not loaded" in said


async def test_a_third_party_channel_works_end_to_end(acme: None, engine: Engine, builtins: Registry) -> None:
    runtime = Runtime(engine, builtins)
    flow = parse_flow(json.dumps(GREETER))
    runtime.flows.save_draft(flow)
    runtime.flows.publish(flow.id, builtins)
    store = ChannelStore(engine, SecretBox(Fernet.generate_key()))
    store.deploy("line", "shop", flow.id, 1, {"secret": "s3cret"})
    channels = Channels(runtime, store)
    sent = sys.modules["acme_channels"].SENT
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(create_app(runtime, channels)), base_url="http://t"
    ) as c:
        try:
            hook = "/hooks/line/shop"
            forged = await c.post(hook, json={"id": 1, "from": 42, "text": "hi"}, headers={"x-line-signature": "nope"})
            assert forged.status_code == 401
            answer = await c.post(
                hook, json={"id": 1, "from": 42, "text": "hi"}, headers={"x-line-signature": "s3cret"}
            )
            assert answer.status_code == 200
            await channels.handle_inbox()
            await channels.deliver()
            assert sent == [("42", "What is your name?")]
        finally:
            await channels.stop()
            await runtime.shutdown()
