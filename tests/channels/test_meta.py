"""Messenger and Instagram end to end: the Send API through httpx against a local fake Graph API,
webhooks signed with X-Hub-Signature-256, the hub.challenge subscription."""

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
from tests.fakes.meta import FakeGraph, signature
from tests.fakes.server import running

PAGE_TOKEN = "EAAG-fake-page-token"
APP_SECRET = "a1b2c3-app-secret"
VERIFY = "my-verify-token"
CREDS = {"page_token": PAGE_TOKEN, "app_secret": APP_SECRET, "verify_token": VERIFY}


@dataclass
class MetaRig:
    channels: Channels
    client: httpx.AsyncClient
    fake: FakeGraph
    clock: Clock

    async def post(
        self, body: dict[str, Any], channel: str = "messenger", account: str = "page", secret: str = APP_SECRET
    ) -> httpx.Response:
        raw = json.dumps(body).encode()
        headers = {**signature(secret, raw), "content-type": "application/json"}
        return await self.client.post(f"/hooks/{channel}/{account}", content=raw, headers=headers)

    async def settle(self) -> None:
        await self.channels.handle_inbox()
        await self.channels.deliver()


@pytest.fixture
def fake() -> Iterator[FakeGraph]:
    with running(FakeGraph(PAGE_TOKEN)) as f:
        yield f


@pytest.fixture
async def rig(engine: Engine, builtins: Registry, fake: FakeGraph, box: SecretBox) -> AsyncIterator[MetaRig]:
    deployments = [
        ("messenger", "page", "greeter", CREDS, fake.url),
        ("messenger", "menu", "faq-menu", CREDS, fake.url),
        ("instagram", "shop", "greeter", CREDS, fake.url),
    ]
    async with served(engine, builtins, box, deployments) as (_, channels, client, clock):
        yield MetaRig(channels, client, fake, clock)


def messaging(
    mid: str, message: dict[str, Any] | None = None, obj: str = "page", sender: str = "PSID1", **extra: Any
) -> dict[str, Any]:
    item: dict[str, Any] = {"sender": {"id": sender}, "recipient": {"id": "PAGE1"}, "timestamp": 1_700_000_000_000}
    if message is not None:
        item["message"] = {"mid": mid, **message}
    item.update(extra)
    return {"object": obj, "entry": [{"id": "PAGE1", "time": 1_700_000_000_000, "messaging": [item]}]}


async def test_the_subscription_handshake(rig: MetaRig) -> None:
    query = {"hub.mode": "subscribe", "hub.verify_token": VERIFY, "hub.challenge": "1158201444"}
    answer = await rig.client.get("/hooks/messenger/page", params=query)
    assert answer.status_code == 200 and answer.text == "1158201444"
    wrong = await rig.client.get("/hooks/messenger/page", params={**query, "hub.verify_token": "guess"})
    assert wrong.status_code == 403
    assert (await rig.client.get("/hooks/messenger/nobody", params=query)).status_code == 404


async def test_a_messenger_conversation_answered_once(rig: MetaRig) -> None:
    assert (await rig.post(messaging("m_1", {"text": "hi"}))).json()["new"] == 1
    await rig.settle()
    await rig.post(messaging("m_2", {"text": "Lin"}))
    await rig.post(messaging("m_2", {"text": "Lin"}))  # Meta redelivers when it saw no 200 in time
    await rig.post(messaging("m_3", {"text": "Lin", "is_echo": True}))  # the page's own message
    await rig.settle()
    assert rig.fake.texts() == ["What is your name?", "Nice to meet you, Lin!"]
    assert rig.fake.sent[0]["recipient"] == {"id": "PSID1"}


async def test_quick_replies_and_postbacks_choose(rig: MetaRig) -> None:
    await rig.post(messaging("m_1", {"text": "hi"}), account="menu")
    await rig.settle()
    menu = rig.fake.sent[-1]["message"]
    assert {"Prices", "Returns"} <= {q["title"] for q in menu["quick_replies"]}
    await rig.post(messaging("m_2", {"text": "Prices", "quick_reply": {"payload": "prices"}}), account="menu")
    await rig.settle()
    assert any("Plans start at $9 a month" in t for t in rig.fake.texts())
    postback = messaging("x", None, postback={"mid": "m_3", "title": "Returns", "payload": "returns"})
    assert (await rig.post(postback, account="menu")).json()["new"] == 1


async def test_instagram_uses_the_same_api(rig: MetaRig) -> None:
    await rig.post(
        messaging("ig_1", {"text": "hi"}, obj="instagram", sender="IGSID"), channel="instagram", account="shop"
    )
    await rig.settle()
    assert rig.fake.sent[-1]["recipient"] == {"id": "IGSID"}
    wrong_object = await rig.post(messaging("ig_2", {"text": "hi"}), channel="instagram", account="shop")
    assert wrong_object.status_code == 400


async def test_an_audio_attachment_arrives_as_audio(rig: MetaRig) -> None:
    found = rig.channels.adapter("messenger", "page")
    assert found is not None
    body = messaging("m_9", {"attachments": [{"type": "audio", "payload": {"url": "https://cdn.example/v.mp4"}}]})
    event = found[1].parse(body)[0]
    assert event.kind == "audio" and event.media is not None and event.media.url == "https://cdn.example/v.mp4"


async def test_forged_requests_are_refused(rig: MetaRig) -> None:
    assert (await rig.post(messaging("m_1", {"text": "hi"}), secret="nope")).status_code == 401
    raw = b'{"object": "page", "entry": ['
    headers = {**signature(APP_SECRET, raw), "content-type": "application/json"}
    assert (await rig.client.post("/hooks/messenger/page", content=raw, headers=headers)).status_code == 400
    await rig.settle()
    assert rig.fake.sent == []


async def test_rate_limits_wait_and_an_unavailable_user_is_dead_lettered(rig: MetaRig) -> None:
    rig.fake.fail_next(400, 613, "Calls to this api have exceeded the rate limit.")
    await rig.post(messaging("m_1", {"text": "hi"}))
    await rig.settle()
    assert rig.fake.sent == []
    rig.clock.now += 61
    await rig.channels.deliver()
    assert rig.fake.texts() == ["What is your name?"]
    rig.fake.fail_next(400, 551, "This person isn't available right now.")
    await rig.post(messaging("m_2", {"text": "Lin"}))
    await rig.settle()
    dead = rig.channels.store.dead_letters()
    assert len(dead) == 1 and "isn't available" in dead[0].last_error and PAGE_TOKEN not in dead[0].last_error
