"""Telegram end to end: the real python-telegram-bot against a local fake Bot API, webhooks signed
with the secret token, the runtime's flows answering through the outbox."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from nodes.api import Media
from nodes.registry import Registry
from runtime.channels.secretbox import SecretBox
from runtime.channels.store import DEPLOY, INBOX, OUTBOX
from runtime.channels.telegram import Telegram
from tests.channels.conftest import SECRET, TOKEN, Rig, button_update, make_rig, text_update
from tests.fakes.telegram import FakeTelegram


def _count(engine: Engine, table) -> int:  # type: ignore[no-untyped-def]
    with engine.connect() as c:
        return int(c.execute(select(func.count()).select_from(table)).scalar_one())


async def test_a_conversation_over_telegram(rig: Rig) -> None:
    answer = await rig.post(text_update(1, "/start"))
    assert answer.status_code == 200 and answer.json() == {"ok": True, "new": 1}
    await rig.settle()
    assert rig.fake.texts() == ["What is your name?"]
    assert rig.fake.sent[0]["chat_id"] in ("777", 777)
    await rig.post(text_update(2, "Ada"))
    await rig.settle()
    assert rig.fake.texts() == ["What is your name?", "Nice to meet you, Ada!"]


async def test_a_redelivered_update_is_answered_once(rig: Rig) -> None:
    await rig.post(text_update(1, "/start"))
    await rig.settle()
    await rig.post(text_update(2, "Ada"))
    again = await rig.post(text_update(2, "Ada"))  # Telegram retries when it saw no answer in time
    assert again.status_code == 200 and again.json()["new"] == 0
    await rig.settle()
    await rig.settle()
    assert rig.fake.texts().count("Nice to meet you, Ada!") == 1


async def test_a_button_press_is_answered_and_moves_the_flow(rig: Rig) -> None:
    await rig.post(text_update(1, "hi"), account="menu")
    await rig.settle()
    menu = rig.fake.sent[-1]
    titles = [row[0]["text"] for row in menu["reply_markup"]["inline_keyboard"]]
    assert "Prices" in titles
    await rig.post(button_update(2, "prices"), account="menu")
    await rig.settle()
    assert rig.fake.answered == ["cq2"]  # the button stops spinning
    assert any("Plans start at $9 a month" in t for t in rig.fake.texts())


async def test_forged_and_broken_requests_are_refused_and_nothing_is_stored(rig: Rig, engine: Engine) -> None:
    assert (await rig.post(text_update(1, "hi"), secret="guess")).status_code == 401
    assert (await rig.post(text_update(1, "hi"), secret=None)).status_code == 401
    assert (await rig.post(text_update(1, "hi"), account="nobody")).status_code == 404
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET, "content-type": "application/json"}
    broken = await rig.client.post("/hooks/telegram/mybot", content=b'{"update_id": 1, "mess', headers=headers)
    assert broken.status_code == 400 and "not JSON" in broken.json()["detail"]
    listed = await rig.client.post("/hooks/telegram/mybot", content=b"[1, 2]", headers=headers)
    assert listed.status_code == 400
    no_id = await rig.post({"message": {"text": "hi"}})
    assert no_id.status_code == 400 and "update_id" in no_id.json()["detail"]
    huge = await rig.client.post("/hooks/telegram/mybot", content=b"x" * 70_000, headers=headers)
    assert huge.status_code == 413
    await rig.settle()
    assert _count(engine, INBOX) == 0 and _count(engine, OUTBOX) == 0 and rig.fake.sent == []


async def test_flood_control_is_waited_out_then_the_message_goes_once(rig: Rig) -> None:
    rig.fake.fail_next(429, "Too Many Requests: retry after 7", retry_after=7)
    await rig.post(text_update(1, "/start"))
    await rig.settle()
    assert rig.fake.sent == []
    rig.clock.now += 5
    await rig.channels.deliver()
    assert rig.fake.sent == []  # not before Telegram's seven seconds
    rig.clock.now += 3
    await rig.channels.deliver()
    assert rig.fake.texts() == ["What is your name?"]


async def test_a_server_error_is_retried_and_a_blocked_bot_is_dead_lettered(rig: Rig) -> None:
    rig.fake.fail_next(502, "Bad Gateway")
    await rig.post(text_update(1, "/start"))
    await rig.settle()
    rig.clock.now += 120
    await rig.channels.deliver()
    assert rig.fake.texts() == ["What is your name?"]
    rig.fake.fail_next(403, "Forbidden: bot was blocked by the user")
    await rig.post(text_update(2, "Ada"))
    await rig.settle()
    dead = rig.store.dead_letters()
    assert len(dead) == 1 and "blocked" in dead[0].last_error and TOKEN not in dead[0].last_error
    rig.store.revive(dead[0].id)  # the builder's "send again"
    await rig.channels.deliver()
    assert rig.fake.texts()[-1] == "Nice to meet you, Ada!"


async def test_a_voice_note_is_fetched_through_get_file(rig: Rig) -> None:
    rig.fake.files["voice-1"] = b"OggS fake opus bytes"
    update = text_update(1, "")
    del update["message"]["text"]
    update["message"]["voice"] = {"file_id": "voice-1", "file_unique_id": "v1", "duration": 3, "mime_type": "audio/ogg"}
    found = rig.channels.adapter("telegram", "mybot")
    assert found is not None
    events = found[1].parse(update)
    assert events[0].kind == "audio" and events[0].media is not None and events[0].media.duration == 3.0
    telegram = found[1]
    assert isinstance(telegram, Telegram)
    assert await telegram.fetch(events[0].media) == b"OggS fake opus bytes"
    assert await telegram.fetch(Media(kind="audio", url="telegram-file:voice-1")) == b"OggS fake opus bytes"


async def test_register_the_webhook_with_its_secret(rig: Rig) -> None:
    found = rig.channels.adapter("telegram", "mybot")
    assert found is not None and isinstance(found[1], Telegram)
    await found[1].set_webhook("https://bots.example/hooks/telegram/mybot")
    assert rig.fake.webhook["url"] == "https://bots.example/hooks/telegram/mybot"
    assert rig.fake.webhook["secret_token"] == SECRET


async def test_a_conversation_continues_after_a_restart(
    engine: Engine, builtins: Registry, fake: FakeTelegram, box: SecretBox
) -> None:
    async for first in make_rig(engine, builtins, fake, box):
        await first.post(text_update(1, "/start"))
        await first.settle()
        await first.post(text_update(2, "Ada"))  # acknowledged, then the server stops before handling it
    async for second in make_rig(engine, builtins, fake, box):
        await second.settle()
        assert fake.texts() == ["What is your name?", "Nice to meet you, Ada!"]
        state = second.runtime.store.load(second.store.chat_for("telegram", "mybot", "777")[0])
        assert state is not None and state.vars["name"] == "Ada"


async def test_credentials_are_encrypted_at_rest(rig: Rig, engine: Engine) -> None:
    with engine.connect() as c:
        rows = c.execute(select(DEPLOY.c.credentials)).all()
    assert len(rows) == 2 and all(TOKEN not in r[0] and SECRET not in r[0] for r in rows)
    assert rig.store.deployment("telegram", "mybot").credentials["token"] == TOKEN  # type: ignore[union-attr]


async def test_more_buttons_than_telegram_shows_become_a_list_answered_by_number(rig: Rig) -> None:
    from runtime.channels.base import Capabilities

    found = rig.channels.adapter("telegram", "menu")
    assert found is not None
    found[1].capabilities = Capabilities(max_buttons=3, button_title=64, max_text=4096)  # as WhatsApp would
    await rig.post(text_update(1, "hi"), account="menu")
    await rig.settle()
    listed = rig.fake.sent[-1]
    assert "reply_markup" not in listed and "2. Prices" in listed["text"]
    await rig.post(text_update(2, "2"), account="menu")
    await rig.settle()
    assert any("Plans start at $9 a month" in t for t in rig.fake.texts())


async def test_a_finished_conversation_starts_again_on_the_deployed_version(rig: Rig, builtins: Registry) -> None:
    import json as _json

    from flows.document import parse_flow
    from tests.channels.conftest import GREETER

    await rig.post(text_update(1, "/start"))
    await rig.post(text_update(2, "Ada"))  # the greeter ends after its greeting
    await rig.settle()
    changed = _json.loads(_json.dumps(GREETER))
    changed["nodes"][1]["settings"]["prompt"] = "Who are you?"
    rig.runtime.flows.save_draft(parse_flow(_json.dumps(changed)))
    rig.runtime.flows.publish("greeter", builtins)  # version 2, not deployed yet
    await rig.post(text_update(3, "hi again"))
    await rig.settle()
    assert rig.fake.texts()[-1] == "What is your name?"  # still the deployed version 1
    rig.store.deploy("telegram", "mybot", "greeter", 2, {"token": TOKEN, "secret_token": SECRET}, api_base=rig.fake.url)
    await rig.channels.forget("telegram", "mybot")
    await rig.post(text_update(4, "Bob"))  # finishes the running conversation on version 1
    await rig.post(text_update(5, "hello"))  # a new start: version 2
    await rig.settle()
    assert rig.fake.texts()[-2:] == ["Nice to meet you, Bob!", "Who are you?"]


async def test_a_deployment_changed_by_another_process_is_read_again(rig: Rig, monkeypatch: pytest.MonkeyPatch) -> None:
    from runtime.channels import adapters

    first = rig.channels.adapter("telegram", "mybot")
    assert first is not None and first[0].version == 1
    # the builder in another process switches the version and pauses the bot
    rig.store.deploy("telegram", "mybot", "greeter", 2, {"token": TOKEN, "secret_token": SECRET}, api_base=rig.fake.url)
    rig.store.set_paused("telegram", "mybot", True)
    assert rig.channels.adapter("telegram", "mybot")[0].version == 1  # type: ignore[index]  # within the few seconds
    monkeypatch.setattr(adapters, "DEPLOYMENT_TTL", 0.0)
    again = rig.channels.adapter("telegram", "mybot")
    assert again is not None and again[0].version == 2 and again[0].paused
    assert again[1] is first[1]  # same credentials: the same connection
    rig.store.deploy("telegram", "mybot", "greeter", 2, {"token": TOKEN, "secret_token": "new"}, api_base=rig.fake.url)
    renewed = rig.channels.adapter("telegram", "mybot")
    assert renewed is not None and renewed[1] is not first[1]
    assert (await rig.post(text_update(1, "hi"))).status_code == 401  # the old secret no longer verifies
