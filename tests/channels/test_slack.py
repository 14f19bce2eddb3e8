"""Slack end to end: slack-sdk's AsyncWebClient against a local fake Web API, Events API and
block_actions requests signed with the real v0 HMAC."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from nodes.registry import Registry
from runtime.channels.secretbox import SecretBox
from runtime.channels.service import Channels
from runtime.channels.store import INBOX
from tests.channels.conftest import Clock, served
from tests.fakes.server import running
from tests.fakes.slack import FakeSlack, signed

TOKEN = "xoxb-fake-token-for-tests"
SIGNING = "8f742231b10e8888abcd99yyyzzz85a5"


@dataclass
class SlackRig:
    channels: Channels
    client: httpx.AsyncClient
    fake: FakeSlack
    clock: Clock

    async def post(self, body: dict[str, Any], *, secret: str = SIGNING, age: int = 0, retry: int | None = None,
                   account: str = "team", form: bool = False) -> httpx.Response:  # fmt: skip
        raw = urlencode({"payload": json.dumps(body)}).encode() if form else json.dumps(body).encode()
        headers = signed(secret, raw, int(time.time()) - age)
        headers["content-type"] = "application/x-www-form-urlencoded" if form else "application/json"
        if retry is not None:
            headers["X-Slack-Retry-Num"] = str(retry)
        return await self.client.post(f"/hooks/slack/{account}", content=raw, headers=headers)

    async def settle(self) -> None:
        await self.channels.handle_inbox()
        await self.channels.deliver()


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with running(FakeSlack(TOKEN)) as f:
        yield f


@pytest.fixture
async def rig(engine: Engine, builtins: Registry, fake: FakeSlack, box: SecretBox) -> AsyncIterator[SlackRig]:
    creds = {"token": TOKEN, "signing_secret": SIGNING}
    deployments = [("slack", "team", "greeter", creds, fake.url), ("slack", "menu", "faq-menu", creds, fake.url)]
    async with served(engine, builtins, box, deployments) as (_, channels, client, clock):
        yield SlackRig(channels, client, fake, clock)


def message(event_id: str, text: str, channel: str = "D024BE91L", **extra: Any) -> dict[str, Any]:
    return {
        "type": "event_callback",
        "team_id": "T1",
        "event_id": event_id,
        "event_time": 1_700_000_000,
        "event": {"type": "message", "channel": channel, "user": "U2147483697", "text": text, "ts": "1.1", **extra},
    }


async def test_the_events_url_is_confirmed_with_the_challenge(rig: SlackRig) -> None:
    answer = await rig.post(
        {"type": "url_verification", "token": "x", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}
    )
    assert answer.status_code == 200 and answer.json() == {
        "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"
    }


async def test_a_conversation_in_a_direct_message(rig: SlackRig) -> None:
    assert (await rig.post(message("Ev1", "hi"))).json() == {"ok": True, "new": 1}
    await rig.settle()
    assert rig.fake.texts() == ["What is your name?"]
    assert rig.fake.posted[0]["channel"] == "D024BE91L"
    await rig.post(message("Ev2", "Grace"))
    await rig.post(message("Ev2", "Grace"), retry=1)  # Slack retries when the answer took over 3 s
    await rig.settle()
    assert rig.fake.texts() == ["What is your name?", "Nice to meet you, Grace!"]


async def test_the_bot_s_own_messages_are_not_answered(rig: SlackRig) -> None:
    assert (await rig.post(message("Ev1", "echo", bot_id="B1"))).json()["new"] == 0
    assert (await rig.post(message("Ev2", "edited", subtype="message_changed"))).json()["new"] == 0


async def test_a_button_press_arrives_as_block_actions(rig: SlackRig) -> None:
    await rig.post(message("Ev1", "hi"), account="menu")
    await rig.settle()
    menu = rig.fake.posted[-1]
    buttons = menu["blocks"][1]["elements"]
    assert {"Prices", "Returns"} <= {b["text"]["text"] for b in buttons}
    press = {
        "type": "block_actions",
        "user": {"id": "U2147483697"},
        "channel": {"id": "D024BE91L"},
        "trigger_id": "13345224609.738474920.8088930838d88f008e0",
        "actions": [{"type": "button", "action_id": "choice-1", "value": "prices", "action_ts": "1548426417.840180"}],
    }
    assert (await rig.post(press, account="menu", form=True)).status_code == 200
    await rig.settle()
    assert any("Plans start at $9 a month" in t for t in rig.fake.texts())


async def test_forged_stale_and_broken_requests_are_refused(rig: SlackRig, engine: Engine) -> None:
    assert (await rig.post(message("Ev1", "hi"), secret="wrong")).status_code == 401
    assert (await rig.post(message("Ev1", "hi"), age=6 * 60)).status_code == 401  # a replay of an old request
    raw = b'{"type": "event_callback", "event_id": "Ev1", "ev'
    headers = {**signed(SIGNING, raw), "content-type": "application/json"}
    assert (await rig.client.post("/hooks/slack/team", content=raw, headers=headers)).status_code == 400
    headers = {"X-Slack-Request-Timestamp": "soon", "X-Slack-Signature": "v0=00"}
    assert (await rig.client.post("/hooks/slack/team", content=b"{}", headers=headers)).status_code == 401
    no_id = {k: v for k, v in message("x", "hi").items() if k != "event_id"}
    assert (await rig.post(no_id)).status_code == 400
    with engine.connect() as c:
        assert c.execute(select(func.count()).select_from(INBOX)).scalar_one() == 0


async def test_rate_limited_posts_wait_for_retry_after(rig: SlackRig) -> None:
    rig.fake.fail_next(429, "ratelimited", retry_after=30)
    await rig.post(message("Ev1", "hi"))
    await rig.settle()
    assert rig.fake.posted == []
    rig.clock.now += 29
    await rig.channels.deliver()
    assert rig.fake.posted == []
    rig.clock.now += 2
    await rig.channels.deliver()
    assert rig.fake.texts() == ["What is your name?"]


async def test_a_removed_channel_is_dead_lettered(rig: SlackRig) -> None:
    rig.fake.fail_next(200, "channel_not_found")
    await rig.post(message("Ev1", "hi"))
    await rig.settle()
    dead = rig.channels.store.dead_letters()
    assert len(dead) == 1 and "channel_not_found" in dead[0].last_error and TOKEN not in dead[0].last_error
