"""Conversations belong to their channel, as an attacker with a `chat` token finds: a Telegram
user's or a widget visitor's conversation cannot be named from the chat id, and cannot be read or
written with a `chat` token even by its real id (404, as if absent); an API conversation is only
its starter's account's; readers with the right read within their workspace."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from fastapi import FastAPI
from sqlalchemy.engine import Engine
from starlette.testclient import TestClient

from flows.db import make_engine
from flows.document import parse_flow
from nodes.registry import Registry
from runtime.access import Access
from runtime.api import create_app
from runtime.channels.chat_ids import ChatIds
from runtime.channels.secretbox import SecretBox
from runtime.channels.service import Channels
from runtime.channels.store import ChannelStore
from runtime.engine import Runtime
from runtime.workspaces import DEFAULT
from tests.access import PASSWORD, api_headers
from tests.channels.conftest import GREETER, Rig, text_update


def old_style_id(channel: str, account: str, chat: str) -> str:
    """The id as anyone could work it out before: SHA-256 of the channel, account and chat."""
    return f"{channel[:16]}-" + hashlib.sha256(f"{channel}\0{account}\0{chat}".encode()).hexdigest()[:40]


def absent(cid: str) -> dict[str, str]:
    """The answer for a conversation that does not exist."""
    return {"detail": f"There is no conversation {cid!r}."}


async def _ada_on_telegram(rig: Rig) -> str:
    """Ada (chat 777) tells the Telegram bot her name; her conversation's id."""
    await rig.post(text_update(1, "/start"))
    await rig.settle()
    await rig.post(text_update(2, "Ada"))
    await rig.settle()
    cid, _ = rig.store.chat_for("telegram", "mybot", "777")
    return cid


async def test_a_chat_token_reaches_no_telegram_conversation(rig: Rig) -> None:
    cid = await _ada_on_telegram(rig)
    access = Access(rig.runtime.engine)
    chat = api_headers(access, ["chat"])  # the owner's own token, scoped to chat
    sent = list(rig.fake.sent)
    nowhere = "telegram-" + "0" * 40
    assert (await rig.client.get(f"/api/conversations/{nowhere}", headers=chat)).json() == absent(nowhere)
    for target in (old_style_id("telegram", "mybot", "777"), cid):  # worked out, or leaked
        for method, path, body in (
            ("GET", f"/api/conversations/{target}", None),
            ("GET", f"/api/conversations/{target}/messages", None),
            ("POST", f"/api/conversations/{target}/messages", {"text": "Send us your card number"}),
        ):
            answer = await rig.client.request(method, path, json=body, headers=chat)
            assert answer.status_code == 404, f"{method} {path}: {answer.text}"
            assert answer.json() == absent(target)  # the same words as for one that does not exist
    await rig.settle()
    assert rig.fake.sent == sent  # the bot wrote nothing to Ada
    owner = api_headers(access)  # every right: the conversation was there all along
    found = await rig.client.get(f"/api/conversations/{cid}", headers=owner)
    assert found.status_code == 200 and found.json()["variables"]["name"] == "Ada"


async def test_the_chat_id_no_longer_gives_the_conversation_id(rig: Rig, tmp_path: Path) -> None:
    cid = await _ada_on_telegram(rig)
    old = old_style_id("telegram", "mybot", "777")
    assert cid != old and rig.runtime.store.load(old) is None
    elsewhere = make_engine(f"sqlite:///{tmp_path / 'other.db'}")
    try:  # another installation has another key: the same chat has another id there
        assert ChatIds(elsewhere).of("telegram", "mybot", "777") != cid
    finally:
        elsewhere.dispose()
    assert ChatIds(rig.runtime.engine).of("telegram", "mybot", "777") == cid  # the same key after a restart


async def test_a_conversation_begun_before_keyed_ids_keeps_its_id(rig: Rig) -> None:
    old = old_style_id("telegram", "mybot", "777")
    rig.store.bind_chat(old, "telegram", "mybot", "777")  # as the server did before this version
    await rig.runtime.start(
        "greeter", version=1, user_id="777", channel="telegram", account="mybot", conversation_id=old
    )
    await rig.settle()
    await rig.post(text_update(1, "Ada"))
    await rig.settle()
    assert rig.fake.texts() == ["What is your name?", "Nice to meet you, Ada!"]
    state = rig.runtime.store.load(old)
    assert state is not None and state.vars["name"] == "Ada"
    chat = api_headers(Access(rig.runtime.engine), ["chat"])
    assert (await rig.client.get(f"/api/conversations/{old}", headers=chat)).json() == absent(old)


async def test_an_api_conversation_is_its_starters_and_readers_stay_in_their_workspace(rig: Rig) -> None:
    telegram = await _ada_on_telegram(rig)
    access = Access(rig.runtime.engine)
    mine = api_headers(access, ["chat"], role="editor")
    other = access.accounts.create("other.editor@chatloom.test", PASSWORD, "editor")
    access.workspaces.set_member(DEFAULT, other.id, True)
    _, token = access.accounts.create_token(other.id, "theirs", ["chat"])
    theirs = {"authorization": f"Bearer {token}"}
    started = await rig.client.post("/api/flows/greeter/conversations", json={}, headers=mine)
    cid = started.json()["conversation_id"]

    assert (await rig.client.get(f"/api/conversations/{cid}", headers=theirs)).json() == absent(cid)
    said = await rig.client.post(f"/api/conversations/{cid}/messages", json={"text": "Mallory"}, headers=theirs)
    assert said.json() == absent(cid)
    answer = await rig.client.post(f"/api/conversations/{cid}/messages", json={"text": "Bea"}, headers=mine)
    assert [m["text"] for m in answer.json()["messages"]] == ["Nice to meet you, Bea!"]  # Mallory never got in

    analyst = api_headers(access, ["conversations.read"], role="analyst")
    for target in (cid, telegram):  # the right to read: any conversation of the workspace
        assert (await rig.client.get(f"/api/conversations/{target}/messages", headers=analyst)).status_code == 200
    refused = await rig.client.post(f"/api/conversations/{telegram}/messages", json={"text": "x"}, headers=analyst)
    assert refused.status_code == 403  # reading is not writing (and says so by the right, not the conversation)
    acme = access.workspaces.create("Acme")
    access.workspaces.place("greeter", acme.id)  # the flow, and its conversations, move to another team
    assert (await rig.client.get(f"/api/conversations/{telegram}", headers=analyst)).json() == absent(telegram)

    owner = api_headers(access)  # conversations.write: may write into a channel conversation, on purpose
    await rig.settle()
    before = len(rig.fake.sent)
    assert (
        await rig.client.post(f"/api/conversations/{telegram}/messages", json={"text": "hi"}, headers=owner)
    ).status_code == 200
    await rig.settle()
    assert len(rig.fake.sent) > before


def test_a_widget_conversation_is_reached_only_with_its_visitor_id(
    engine: Engine, builtins: Registry, box: SecretBox
) -> None:
    runtime = Runtime(engine, builtins)
    runtime.flows.save_draft(parse_flow(json.dumps(GREETER)))
    runtime.flows.publish("greeter", builtins)
    store = ChannelStore(engine, box)
    store.deploy("web", "site", "greeter", 1, {})
    app: FastAPI = create_app(runtime, Channels(runtime, store))
    visitor = "0123456789abcdef0123456789abcdef"
    with TestClient(app) as client:
        with client.websocket_connect(f"/widget/site/ws?visitor={visitor}") as ws:
            ws.send_json({"type": "hello", "after": 0})
            assert ws.receive_json()["text"] == "What is your name?"
            ws.send_json({"type": "say", "id": "1", "text": "Ada"})
            assert ws.receive_json() == {"type": "ack", "id": "1"}
        with client.websocket_connect("/widget/site/ws?visitor=fedcba9876543210") as ws:  # another visitor
            ws.send_json({"type": "hello", "after": 0})
            assert ws.receive_json()["text"] == "What is your name?"  # a conversation of their own
            ws.send_json({"type": "hello", "after": 0})
            assert "Ada" not in json.dumps(ws.receive_json())
        [ada] = [c.id for c in runtime.store.recent(["greeter"]) if c.user_id == visitor]
        chat = api_headers(app, ["chat"])
        for target in (old_style_id("web", "site", visitor), ada):
            assert client.get(f"/api/conversations/{target}/messages", headers=chat).json() == absent(target)
        assert ada != old_style_id("web", "site", visitor)
        assert "Ada" in client.get(f"/api/conversations/{ada}/messages", headers=api_headers(app)).text
