"""WhatsApp end to end: pywa against a local fake Cloud API, webhooks signed like Meta's."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine

from nodes.registry import Registry
from runtime.channels.secretbox import SecretBox
from runtime.channels.service import Channels
from tests.channels.conftest import Clock, served
from tests.fakes.meta import signature
from tests.fakes.server import running
from tests.fakes.whatsapp import FakeWhatsApp

TOKEN = "EAAJ-fake-whatsapp-token"
PHONE = "106540352242922"
APP_SECRET = "wa-app-secret"
CREDS = {"token": TOKEN, "phone_id": PHONE, "app_secret": APP_SECRET, "verify_token": "wa-verify"}


@dataclass
class WaRig:
    channels: Channels
    client: httpx.AsyncClient
    fake: FakeWhatsApp
    clock: Clock

    async def post(self, body: dict[str, Any], account: str = "shop", secret: str = APP_SECRET) -> httpx.Response:
        raw = json.dumps(body).encode()
        headers = {**signature(secret, raw), "content-type": "application/json"}
        return await self.client.post(f"/hooks/whatsapp/{account}", content=raw, headers=headers)

    async def settle(self) -> None:
        await self.channels.handle_inbox()
        await self.channels.deliver()


@pytest.fixture
def fake() -> Iterator[FakeWhatsApp]:
    with running(FakeWhatsApp(TOKEN, PHONE)) as f:
        yield f


@pytest.fixture
async def rig(engine: Engine, builtins: Registry, fake: FakeWhatsApp, box: SecretBox) -> AsyncIterator[WaRig]:
    deployments = [("whatsapp", "shop", "greeter", CREDS, fake.url), ("whatsapp", "menu", "faq-menu", CREDS, fake.url)]
    async with served(engine, builtins, box, deployments) as (_, channels, client, clock):
        yield WaRig(channels, client, fake, clock)


def incoming(
    wamid: str, message: dict[str, Any], wa_id: str = "16505551234", user_id: str | None = None
) -> dict[str, Any]:
    contact: dict[str, Any] = {"profile": {"name": "Kerry"}, "wa_id": wa_id}
    if user_id:
        contact["user_id"] = user_id
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": PHONE},
        "contacts": [contact],
        "messages": [{"from": wa_id, "id": wamid, "timestamp": "1700000000", **message}],
    }
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "WABA1", "changes": [{"field": "messages", "value": value}]}],
    }


async def test_a_whatsapp_conversation(rig: WaRig) -> None:
    assert (await rig.post(incoming("wamid.1", {"type": "text", "text": {"body": "hi"}}))).json()["new"] == 1
    await rig.settle()
    await rig.post(incoming("wamid.2", {"type": "text", "text": {"body": "Kerry"}}))
    await rig.post(incoming("wamid.2", {"type": "text", "text": {"body": "Kerry"}}))  # redelivered
    await rig.settle()
    assert rig.fake.texts() == ["What is your name?", "Nice to meet you, Kerry!"]
    assert rig.fake.sent[0]["to"] == "16505551234"


async def test_five_options_become_a_numbered_list_and_two_reply_buttons_stay_buttons(rig: WaRig) -> None:
    await rig.post(incoming("wamid.1", {"type": "text", "text": {"body": "hi"}}), account="menu")
    await rig.settle()
    menu = rig.fake.sent[-1]
    assert menu["type"] == "text" and "2. Prices" in menu["text"]["body"]  # six options: more than three
    await rig.post(incoming("wamid.2", {"type": "text", "text": {"body": "2"}}), account="menu")
    await rig.settle()
    assert any("Plans start at $9 a month" in t for t in rig.fake.texts())


async def test_a_reply_button_press_and_a_business_scoped_user(rig: WaRig) -> None:
    found = rig.channels.adapter("whatsapp", "shop")
    assert found is not None
    reply = {"type": "button_reply", "button_reply": {"id": "yes", "title": "Yes"}}
    press = incoming(
        "wamid.9", {"type": "interactive", "interactive": reply}, wa_id="", user_id="US.13491208655302741918"
    )
    event = found[1].parse(press)[0]
    assert event.kind == "choice" and event.choice == "yes" and event.chat == "US.13491208655302741918"
    voice = incoming(
        "wamid.10", {"type": "audio", "audio": {"id": "MEDIA1", "mime_type": "audio/ogg; codecs=opus", "voice": True}}
    )
    event = found[1].parse(voice)[0]
    assert event.kind == "audio" and event.media is not None and event.media.url == "whatsapp-media:shop/MEDIA1"


async def test_forged_and_foreign_requests_are_refused(rig: WaRig) -> None:
    assert (
        await rig.post(incoming("wamid.1", {"type": "text", "text": {"body": "hi"}}), secret="x")
    ).status_code == 401
    assert (await rig.post({"object": "page", "entry": []})).status_code == 400
    challenge = await rig.client.get(
        "/hooks/whatsapp/shop", params={"hub.mode": "subscribe", "hub.verify_token": "wa-verify", "hub.challenge": "42"}
    )
    assert challenge.text == "42"


async def test_throughput_limits_wait_and_a_user_outside_the_window_is_dead_lettered(rig: WaRig) -> None:
    rig.fake.fail_next(400, 130429, "Rate limit hit")
    await rig.post(incoming("wamid.1", {"type": "text", "text": {"body": "hi"}}))
    await rig.settle()
    assert rig.fake.sent == []
    rig.clock.now += 61
    await rig.channels.deliver()
    assert rig.fake.texts() == ["What is your name?"]
    rig.fake.fail_next(400, 131047, "Re-engagement message")
    await rig.post(incoming("wamid.2", {"type": "text", "text": {"body": "Kerry"}}))
    await rig.settle()
    dead = rig.channels.store.dead_letters()
    assert len(dead) == 1 and "131047" in dead[0].last_error and TOKEN not in dead[0].last_error


async def test_one_number_sends_at_most_its_rate_a_second(rig: WaRig) -> None:
    rig.channels.rate["whatsapp"] = 2  # 80 in production; the same rule with fewer messages
    for n in range(5):
        await rig.post(incoming(f"wamid.{n}", {"type": "text", "text": {"body": "hi"}}, wa_id=f"1650555000{n}"))
    await rig.settle()
    assert len(rig.fake.sent) == 2  # five chats waiting, two sent in this second
    rig.clock.now += 0.5
    await rig.channels.deliver()
    assert len(rig.fake.sent) == 2
    rig.clock.now += 0.6
    await rig.channels.deliver()
    assert len(rig.fake.sent) == 4
    rig.clock.now += 1.1
    await rig.channels.deliver()
    assert len(rig.fake.sent) == 5 and len({m["to"] for m in rig.fake.sent}) == 5
