"""Transcript masking on: what a person receives is the real text, on Telegram, Slack and WhatsApp
(the real SDKs against the local fakes), over the API (a redelivered event too); what is kept for
later reading (the transcript, the API's transcript, a data-subject export) is masked, and the real
text kept for delivery goes after a day, and with the conversation when it is erased."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.engine import Engine
from starlette.testclient import TestClient

from flows.document import flow_from_data
from nodes.registry import Registry
from runtime.api import create_app
from runtime.channels.secretbox import SecretBox
from runtime.channels.service import Channels
from runtime.channels.store import ChannelStore
from runtime.engine import Runtime
from runtime.privacy import Privacy
from runtime.retention import Retention
from runtime.store import AS_SAID_SECONDS
from tests.access import api_headers
from tests.channels.conftest import Clock, text_update
from tests.fakes.meta import signature
from tests.fakes.server import running
from tests.fakes.slack import FakeSlack, signed
from tests.fakes.telegram import FakeTelegram
from tests.fakes.whatsapp import FakeWhatsApp

EMAIL = "ann.lee@example.com"
SHOP = "help@shop.example"  # the business's own address, written in the flow
PHONE = "+44 20 7946 0958"
REPLY = f"Thanks, we will write to {EMAIL}. Questions? {SHOP} or {PHONE}."
REAL = (EMAIL, SHOP, "7946 0958")  # none of it may be kept for later reading
CONTACT = {
    "id": "contact",
    "name": "Contact",
    "start": "start",
    "nodes": [
        {"id": "start", "type": "flow.start"},
        {"id": "ask", "type": "input.text", "settings": {"prompt": "What is your email?", "save_as": "email"}},
        {
            "id": "reply",
            "type": "message.send",
            "settings": {"text": "Thanks, we will write to {{ email }}. Questions? " + f"{SHOP} or {PHONE}."},
        },
        {"id": "bye", "type": "flow.end"},
    ],
    "edges": [
        {"id": "e1", "source": "start", "target": "ask"},
        {"id": "e2", "source": "ask", "source_port": "valid", "target": "reply"},
        {"id": "e3", "source": "ask", "source_port": "invalid", "target": "bye"},
        {"id": "e4", "source": "reply", "target": "bye"},
    ],
}
TG_TOKEN, TG_SECRET = "123456:AAH-fake-token-for-tests", "s3cret-token_for-webhooks"
SLACK_TOKEN, SLACK_SIGNING = "xoxb-fake-token-for-tests", "8f742231b10e8888abcd99yyyzzz85a5"
WA_TOKEN, WA_PHONE, WA_SECRET = "EAAJ-fake-whatsapp-token", "106540352242922", "wa-app-secret"
CHATS = {"telegram": "777", "slack": "D024BE91L", "whatsapp": "16505551234"}  # where each person is reached


def publish_contact(runtime: Runtime, builtins: Registry) -> None:
    runtime.flows.save_draft(flow_from_data(CONTACT))
    runtime.flows.publish("contact", builtins)


def kept_at_rest(engine: Engine, *tables: str) -> str:
    """Every row of these tables, as text."""
    with engine.connect() as conn:
        return "\n".join(repr(tuple(row)) for t in tables for row in conn.execute(text(f"SELECT * FROM {t}")))


@dataclass
class World:
    runtime: Runtime
    store: ChannelStore
    channels: Channels
    app: FastAPI
    client: httpx.AsyncClient
    telegram: FakeTelegram
    slack: FakeSlack
    whatsapp: FakeWhatsApp

    async def say(self, channel: str, n: int, said: str) -> None:
        """The person writes on their app; the platform calls the webhook, signed as it signs."""
        if channel == "telegram":
            answer = await self.client.post(
                "/hooks/telegram/shop",
                json=text_update(n, said),
                headers={"X-Telegram-Bot-Api-Secret-Token": TG_SECRET},
            )
        elif channel == "slack":
            event = {"type": "message", "channel": CHATS["slack"], "user": "U2147483697", "text": said, "ts": f"{n}.1"}
            raw = json.dumps({"type": "event_callback", "team_id": "T1", "event_id": f"Ev{n}", "event": event}).encode()
            headers = {**signed(SLACK_SIGNING, raw), "content-type": "application/json"}
            answer = await self.client.post("/hooks/slack/shop", content=raw, headers=headers)
        else:
            message = {"from": CHATS["whatsapp"], "id": f"wamid.{n}", "timestamp": "1700000000", "type": "text"}
            value = {
                "messaging_product": "whatsapp",
                "metadata": {"display_phone_number": "15550783881", "phone_number_id": WA_PHONE},
                "contacts": [{"profile": {"name": "Ann"}, "wa_id": CHATS["whatsapp"]}],
                "messages": [{**message, "text": {"body": said}}],
            }
            body = {
                "object": "whatsapp_business_account",
                "entry": [{"id": "W", "changes": [{"field": "messages", "value": value}]}],
            }
            raw = json.dumps(body).encode()
            headers = {**signature(WA_SECRET, raw), "content-type": "application/json"}
            answer = await self.client.post("/hooks/whatsapp/shop", content=raw, headers=headers)
        assert answer.status_code == 200, answer.text

    def received(self, channel: str) -> list[str]:
        """What the person's app was sent, as the fake platform recorded it."""
        fake: Any = {"telegram": self.telegram, "slack": self.slack, "whatsapp": self.whatsapp}[channel]
        return list(fake.texts())

    async def settle(self) -> None:
        await self.channels.handle_inbox()
        await self.channels.deliver()


@pytest.fixture
async def world(engine: Engine, builtins: Registry, box: SecretBox) -> AsyncIterator[World]:
    with (
        running(FakeTelegram(TG_TOKEN)) as telegram,
        running(FakeSlack(SLACK_TOKEN)) as slack,
        running(FakeWhatsApp(WA_TOKEN, WA_PHONE)) as whatsapp,
    ):
        runtime = Runtime(engine, builtins)
        publish_contact(runtime, builtins)
        store = ChannelStore(engine, box)
        store.deploy(
            "telegram", "shop", "contact", 1, {"token": TG_TOKEN, "secret_token": TG_SECRET}, api_base=telegram.url
        )
        store.deploy(
            "slack", "shop", "contact", 1, {"token": SLACK_TOKEN, "signing_secret": SLACK_SIGNING}, api_base=slack.url
        )
        wa = {"token": WA_TOKEN, "phone_id": WA_PHONE, "app_secret": WA_SECRET, "verify_token": "v"}
        store.deploy("whatsapp", "shop", "contact", 1, wa, api_base=whatsapp.url)
        channels = Channels(runtime, store, pace={}, clock=Clock())
        app = create_app(runtime, channels)
        Retention(runtime).configure(0, True)  # the default workspace masks its transcripts
        try:
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://t") as client:
                yield World(runtime, store, channels, app, client, telegram, slack, whatsapp)
        finally:
            await channels.stop()
            await runtime.shutdown()


@pytest.mark.parametrize("channel", ["telegram", "slack", "whatsapp"])
async def test_a_channel_user_receives_the_real_text_and_the_transcript_is_masked(world: World, channel: str) -> None:
    await world.say(channel, 1, "hi")
    await world.settle()
    await world.say(channel, 2, EMAIL)
    await world.settle()
    assert world.received(channel) == ["What is your email?", REPLY]  # their own address, and the shop's

    cid, _ = world.store.chat_for(channel, "shop", CHATS[channel])
    kept = json.dumps([line.to_json() for line in world.runtime.store.messages(cid)])
    assert "[email]" in kept and "[phone number]" in kept
    analyst = api_headers(world.app, ["conversations.read"], role="analyst")
    over_api = (await world.client.get(f"/api/conversations/{cid}/messages", headers=analyst)).text
    assert "[email]" in over_api
    at_rest = kept_at_rest(world.runtime.engine, "turns", "channel_outbox")  # delivered: the outbox holds nothing
    for real in REAL:
        assert real not in kept and real not in over_api and real not in at_rest, real


async def test_the_api_answers_unmasked_and_a_redelivered_event_the_same(world: World) -> None:
    chat = api_headers(world.app, ["chat"], role="editor")
    started = await world.client.post("/api/flows/contact/conversations", json={}, headers=chat)
    cid = started.json()["conversation_id"]
    first = await world.client.post(
        f"/api/conversations/{cid}/messages", json={"text": EMAIL, "event_id": "e1"}, headers=chat
    )
    again = await world.client.post(  # the client did not see the answer and sends again
        f"/api/conversations/{cid}/messages", json={"text": EMAIL, "event_id": "e1"}, headers=chat
    )
    assert [m["text"] for m in first.json()["messages"]] == [REPLY]
    assert again.json() == first.json()
    world.runtime.forget_cached([cid])  # another worker, which reads the database, answers the same
    third = await world.client.post(
        f"/api/conversations/{cid}/messages", json={"text": EMAIL, "event_id": "e1"}, headers=chat
    )
    assert third.json() == first.json()
    assert ("assistant", REPLY) in world.runtime.store.recent_lines(cid, 10)  # a model's history: as said

    transcript = (await world.client.get(f"/api/conversations/{cid}/messages", headers=chat)).text
    assert "[email]" in transcript and all(real not in transcript for real in REAL)


async def test_the_real_text_waits_masked_in_an_export_and_goes_after_a_day_or_an_erasure(world: World) -> None:
    await world.say("telegram", 1, "hi")
    await world.settle()
    await world.say("telegram", 2, EMAIL)
    await world.channels.handle_inbox()  # the reply waits in the outbox: not yet delivered
    cid, _ = world.store.chat_for("telegram", "shop", CHATS["telegram"])
    privacy = Privacy(world.runtime)
    exported = await privacy.export(privacy.find(user_id="777", channel="telegram"))
    transcripts = [c["transcript"] for c in exported["conversations"]]  # (variables and raw events hold it as is)
    read_later = json.dumps([transcripts, exported["messages_waiting"]])
    assert exported["messages_waiting"] and "[email]" in read_later
    assert all(real not in read_later for real in REAL)
    await world.channels.deliver()
    assert world.received("telegram")[-1] == REPLY  # what waited was the real text

    chat = api_headers(world.app, ["chat"], role="editor")
    started = await world.client.post("/api/flows/contact/conversations", json={}, headers=chat)
    api_cid = started.json()["conversation_id"]
    await world.client.post(
        f"/api/conversations/{api_cid}/messages", json={"text": EMAIL, "event_id": "e1"}, headers=chat
    )
    assert EMAIL in kept_at_rest(world.runtime.engine, "turns_as_said")  # kept for delivery, for now

    state = world.runtime.store.load(cid)
    assert state is not None
    counts = privacy.erase_conversations([state])
    assert counts["turns kept as said"] == 1  # the turn that masking changed: the email and the reply
    clock = Clock()
    clock.now = time.time() + AS_SAID_SECONDS + 60  # a day later
    swept = await Retention(world.runtime, clock=clock).sweep()
    assert swept["turns kept as said"] == 1  # the API conversation's answer
    assert kept_at_rest(world.runtime.engine, "turns_as_said") == ""
    again = await world.client.post(  # past the window, a redelivery is answered from the transcript
        f"/api/conversations/{api_cid}/messages", json={"text": EMAIL, "event_id": "e1"}, headers=chat
    )
    assert EMAIL not in again.text and "[email]" in again.text


@pytest.fixture
def widget(engine: Engine, builtins: Registry, box: SecretBox) -> Iterator[tuple[TestClient, Runtime]]:
    runtime = Runtime(engine, builtins)
    publish_contact(runtime, builtins)
    store = ChannelStore(engine, box)
    store.deploy("web", "site", "contact", 1, {})
    Retention(runtime).configure(0, True)
    with TestClient(create_app(runtime, Channels(runtime, store))) as client:
        yield client, runtime


def _lines(ws: Any, until: str) -> list[dict[str, Any]]:
    got = []
    while True:
        data = ws.receive_json()
        if data["type"] == "line":
            got.append(data)
            if until in json.dumps(data):
                return got


def test_the_widget_shows_the_visitor_what_they_said_and_the_real_reply(
    widget: tuple[TestClient, Runtime],
) -> None:
    client, runtime = widget
    visitor = "f00dfeedf00dfeed"
    with client.websocket_connect(f"/widget/site/ws?visitor={visitor}") as ws:
        ws.send_json({"type": "hello", "after": 0})
        _lines(ws, "What is your email?")
        ws.send_json({"type": "say", "id": "1", "text": EMAIL})
        assert ws.receive_json() == {"type": "ack", "id": "1"}
        lines = _lines(ws, "Questions?")
        assert [(line["direction"], line.get("text")) for line in lines] == [("in", EMAIL), ("out", REPLY)]
    with client.websocket_connect(f"/widget/site/ws?visitor={visitor}") as ws:  # a reload: the history, as said
        ws.send_json({"type": "hello", "after": 0})
        history = _lines(ws, "Questions?")
        assert [line.get("text") for line in history] == ["What is your email?", EMAIL, REPLY]
    [summary] = runtime.store.recent(["contact"])
    kept = json.dumps([line.to_json() for line in runtime.store.messages(summary.id)])
    assert "[email]" in kept and all(real not in kept for real in REAL)
